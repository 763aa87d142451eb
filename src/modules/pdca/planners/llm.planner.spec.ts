import { Logger } from '@nestjs/common';
import { LockManager } from '../../../common/concurrency';
import { HttpConnectionPool } from '../../../common/network';
import { type HttpStub, replyJson, startHttpStub, type StubRequest } from '../../../common/network/http-stub.test-kit';
import { knightState } from '../pdca.test-kit';
import type { PlanningContext } from '../pdca.types';
import { BuiltInPlanner } from './built-in.planner';
import { FallbackPlanner } from './fallback.planner';
import { extractJsonObject, LlmPlanner } from './llm.planner';

const context = (): PlanningContext => ({
  strategy_id: 'pdca-7',
  goal: 'test goal',
  states: [{ session_id: 's1', character: 'Knight1', updated_at: Date.now(), state: knightState() }],
  decision_stats: null,
  previous: null,
});

const completion = (content: string) => ({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] });

const GOOD = {
  plan_type: 'combat',
  goal: 'kill porings faster',
  rationale: 'two skills, porings are weak',
  macros: [{ template: 'combat_rotation', params: { name: 'whatever_the_model_says', skills: [{ skill: 'Bash', level: 10 }], potion: { item: 'Red Potion', hp_below_pct: 40 } } }],
};

describe('LLM planner through the bounded pool, falling back to the built-in planner (local stub server)', () => {
  let stub: HttpStub;
  let pool: HttpConnectionPool;
  const planner = (opts: { max?: number; acquireMs?: number; requestMs?: number } = {}) => {
    pool = new HttpConnectionPool(new LockManager(), {
      name: 'llm-test',
      maxConnections: opts.max ?? 2,
      acquireTimeoutMs: opts.acquireMs ?? 1_000,
      requestTimeoutMs: opts.requestMs ?? 2_000,
    });
    return new FallbackPlanner(new LlmPlanner(pool, { url: `${stub.url}/v1`, apiKey: 'sk-test', model: 'test-model' }), new BuiltInPlanner());
  };
  /** Times a plan: every fallback must come within its bound, never hang. */
  const timed = async (p: FallbackPlanner, signal = new AbortController().signal) => {
    const started = Date.now();
    const strategy = await p.plan(context(), signal);
    return { strategy, ms: Date.now() - started };
  };

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    stub = await startHttpStub((r) => replyJson(r.res, 200, completion('```json\n' + JSON.stringify(GOOD) + '\n```')));
  });
  afterEach(async () => {
    pool?.close();
    await stub.close();
  });

  it('uses a valid answer: POST …/v1/chat/completions with model and key; macro names are ours; templates checked', async () => {
    const { strategy } = await timed(planner());
    expect(strategy).toMatchObject({ id: 'pdca-7', plan_type: 'combat', planner: 'llm:test-model', goal: 'kill porings faster', character: 'Knight1' });
    expect(strategy.fallback_reason).toBeUndefined();
    expect(strategy.macros).toEqual([{ template: 'combat_rotation', params: { ...GOOD.macros[0].params, name: 'pdca_combat' } }]);
    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0];
    expect(req).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
    expect(req.headers.authorization).toBe('Bearer sk-test');
    const body = JSON.parse(req.body);
    expect(body.model).toBe('test-model');
    expect(body.messages[1].content).toContain('Knight1');
  });

  it('an HTTP 500 falls back to the built-in planner, saying why', async () => {
    stub.handle((r) => replyJson(r.res, 500, { error: 'overloaded' }));
    const { strategy, ms } = await timed(planner());
    expect(strategy).toMatchObject({ planner: 'built-in', plan_type: 'combat', id: 'pdca-7' });
    expect(strategy.fallback_reason).toMatch(/^llm:test-model: .*HTTP 500/);
    expect(ms).toBeLessThan(1_000);
  });

  it('a slow upstream hits the request timeout and falls back within the bound', async () => {
    stub.handle(() => undefined); // never answers
    const { strategy, ms } = await timed(planner({ requestMs: 200 }));
    expect(strategy.planner).toBe('built-in');
    expect(strategy.fallback_reason).toMatch(/UpstreamTimeoutError/);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1_500);
  });

  it('an exhausted pool fails the acquisition after the acquire timeout and falls back, while the first request is still in flight', async () => {
    const hanging: StubRequest[] = [];
    stub.handle((r) => hanging.push(r));
    const p = planner({ max: 1, acquireMs: 100, requestMs: 5_000 });
    const first = timed(p);
    while (hanging.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await timed(p);
    expect(second.strategy.planner).toBe('built-in');
    expect(second.strategy.fallback_reason).toMatch(/LockTimeoutError.*network\.llm-test/);
    expect(second.ms).toBeGreaterThanOrEqual(90);
    expect(second.ms).toBeLessThan(1_000);
    expect(stub.requests).toHaveLength(1); // the second never reached the server
    replyJson(hanging[0].res, 200, completion(JSON.stringify(GOOD)));
    await expect(first).resolves.toMatchObject({ strategy: { planner: 'llm:test-model' } });
  });

  it('an unreachable provider falls back', async () => {
    const p = planner();
    await stub.close();
    const { strategy } = await timed(p);
    expect(strategy.planner).toBe('built-in');
    expect(strategy.fallback_reason).toMatch(/UpstreamError/);
    stub = await startHttpStub();
  });

  it.each([
    ['prose without JSON', completion('I would farm porings.')],
    ['malformed JSON', completion('{"plan_type": "combat",')],
    ['no message content', { choices: [] }],
    ['an unknown plan type', completion(JSON.stringify({ ...GOOD, plan_type: 'dance' }))],
    ['an unknown template', completion(JSON.stringify({ ...GOOD, macros: [{ template: 'rm_rf', params: {} }] }))],
    ['parameters that do not render', completion(JSON.stringify({ ...GOOD, macros: [{ template: 'combat_rotation', params: { skills: [{ skill: 'Bash"\n}\nmacro evil {' }] } }] }))],
    ['too many macros', completion(JSON.stringify({ ...GOOD, macros: Array(4).fill(GOOD.macros[0]) }))],
    ['an observe plan with macros', completion(JSON.stringify({ ...GOOD, plan_type: 'observe' }))],
    ['a non-JSON body', 'not json'],
  ])('an answer with %s falls back', async (_what, answer) => {
    stub.handle((r) => (typeof answer === 'string' ? r.res.end(answer) : replyJson(r.res, 200, answer)));
    const { strategy } = await timed(planner());
    expect(strategy.planner).toBe('built-in');
    expect(strategy.fallback_reason).toBeDefined();
  });

  it('the caller’s abort (a stop) is not papered over by a fallback', async () => {
    stub.handle(() => undefined);
    const controller = new AbortController();
    const pending = planner().plan(context(), controller.signal);
    while (stub.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });

  it('extracts the JSON object from fenced or chatty answers', () => {
    expect(extractJsonObject('Sure! ```json\n{"a":1}\n``` done')).toEqual({ a: 1 });
    expect(extractJsonObject('Here: {"a":{"b":2}} ok')).toEqual({ a: { b: 2 } });
    expect(() => extractJsonObject('nothing')).toThrow(/no JSON/);
  });
});

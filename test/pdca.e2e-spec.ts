import { replyJson, startHttpStub, type HttpStub } from '../src/common/network/http-stub.test-kit';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';
import { untilValue as until } from '../src/common/testing/wait.test-kit';

/** Polls `read` until `done(value)` holds; fails with the last value after `timeoutMs`. */
const PERIOD_MS = 2_500;

/**
 * The PDCA module in one engine over real HTTP: real SQLite file, real watched macro folder, the
 * LLM provider a local stub (down by default: every plan falls back to the built-in planner).
 */
describe('PDCA cycle over real HTTP', () => {
  let e: RunningEngine;
  let llm: HttpStub;
  const api = (p: string) => `${e.url}/api/v1${p}`;
  const status = async () => (await request(api('/pdca'))).body.data;
  const trigger = (reason = 'e2e') => request(api('/pdca/trigger'), { body: { reason } });
  const cycle = async (id: number) => (await request(api(`/pdca/cycles/${id}`))).body.data;
  const finished = (id: number) => until(() => cycle(id), (c) => c.status !== 'running', `cycle ${id} to end`);
  let sessionId: string;
  const decide = async (skills: Array<{ id: number; name: string; level: number }>) => {
    const res = await request(api('/decide'), { body: { game_state: { ...pluginGameState(), skills }, request_id: 1 } });
    expect(res.status).toBe(200);
    sessionId = res.body.session_id;
  };
  const logOutcomes = async (strategyId: string, outcomes: boolean[]) => {
    for (const success of outcomes) {
      const res = await request(api('/metrics/log'), {
        body: { session_id: sessionId, decision_tier: 'rule', action_type: 'ATTACK', success, processing_time_ms: 2, strategy_id: strategyId },
      });
      expect(res.status).toBe(200);
    }
  };
  const macroContent = async (name: string) => {
    const res = await request(api(`/macro/${name}`));
    return res.status === 200 ? (res.body.data.content as string) : null;
  };

  beforeAll(async () => {
    llm = await startHttpStub((r) => replyJson(r.res, 500, { error: 'LLM down' }));
    e = await startEngine({
      MACRO_DIR: tempDir('okai-pdca-macros-'),
      MODEL_DIR: tempDir('okai-pdca-models-'),
      MACRO_DEBOUNCE_MS: '20',
      MACRO_RESCAN_INTERVAL_MS: '0',
      PDCA_INTERVAL_MS: '0',
      PDCA_EXECUTION_PERIOD_MS: String(PERIOD_MS),
      PDCA_LEASE_TTL_MS: '3000',
      PDCA_LLM_URL: `${llm.url}/v1`,
      PDCA_LLM_MODEL: 'stub-model',
      PDCA_LLM_TIMEOUT_MS: '1000',
      PDCA_LLM_ACQUIRE_TIMEOUT_MS: '200',
    });
    await decide([
      { id: 5, name: 'Bash', level: 10 },
      { id: 7, name: 'Magnum Break', level: 5 },
    ]);
  });
  afterAll(async () => {
    await e?.stop();
    await llm?.close();
  });

  it('20 simultaneous triggers: exactly one 202 with the cycle id, 19 × 409 BUSY; the cycle runs in the background and completes', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => trigger(`burst ${i}`)));
    const accepted = answers.filter((a) => a.status === 202);
    const busy = answers.filter((a) => a.status === 409);
    expect(accepted).toHaveLength(1);
    expect(busy).toHaveLength(19);
    for (const b of busy) expect(b.body).toMatchObject({ status: 'error', error: { code: 'BUSY' } });
    const { cycle_id: id, strategy_id: strategyId } = accepted[0].body.data;
    expect(accepted[0].body.data).toMatchObject({ status: 'started', strategy_id: `pdca-${id}` });

    // Answered before the cycle could have ended: it runs on after the request.
    const running = await status();
    expect(running).toMatchObject({ cycle_running: true, current_cycle: { cycle_id: id, local: true, trigger: { type: 'manual' } } });
    await logOutcomes(strategyId, [true, true, true, true, true]);

    const done = await finished(id);
    expect(done).toMatchObject({ status: 'completed', decision: 'keep', error: null, current_phase: 'IDLE' });
    expect(done.phases.map((p: { phase: string }) => p.phase)).toEqual(['IDLE', 'PLAN', 'DO', 'CHECK', 'ACT', 'IDLE']);
    const at = Object.fromEntries(done.phases.slice(1).map((p: { phase: string; at: string }) => [p.phase, Date.parse(p.at)]));
    expect(at.CHECK - at.DO).toBeGreaterThanOrEqual(PERIOD_MS);
    expect(done.strategy).toMatchObject({ id: strategyId, plan_type: 'combat', planner: 'built-in', character: 'Knight1' });
    expect(done.strategy.fallback_reason).toMatch(/llm:stub-model: .*HTTP 500/); // the LLM is down: built-in planner
    expect(done.outcome).toMatchObject({ verdict: 'success', success_rate: 1, samples: 5 });
    expect(done.deployment).toMatchObject({ file: 'pdca/strategy.txt', status: 'loaded' });

    // DO went through the macro module: the generated macros serve.
    const served = await request(api('/macro/pdca_combat'));
    expect(served.status).toBe(200);
    expect(served.body.data).toMatchObject({ file: 'pdca/strategy.txt' });
    expect(served.body.data.content).toContain('Magnum Break');
    const s = await status();
    expect(s).toMatchObject({ cycle_running: false, current_phase: 'IDLE', current_cycle: null, last_cycle: { cycle_id: id, status: 'completed' } });
    expect(s.cycle_count).toBeGreaterThanOrEqual(1);
  });

  it('ACT rolls back a failing strategy: the macros that served before the cycle serve again', async () => {
    const before = await macroContent('pdca_combat');
    expect(before).toContain('Magnum Break');
    await decide([
      { id: 5, name: 'Bash', level: 10 },
      { id: 62, name: 'Bowling Bash', level: 7 },
    ]);
    const res = await trigger('rollback');
    expect(res.status).toBe(202);
    const { cycle_id: id, strategy_id: strategyId } = res.body.data;
    await logOutcomes(strategyId, [false, false, false, false, false]);
    await until(() => macroContent('pdca_combat'), (c) => c !== null && c.includes('Bowling Bash'), 'the new strategy to serve');
    const done = await finished(id);
    expect(done).toMatchObject({ status: 'completed', decision: 'rollback', outcome: { verdict: 'failure', success_rate: 0 } });
    expect(done.deployment).toMatchObject({ rolled_back: true });
    expect(await macroContent('pdca_combat')).toBe(before);
  });

  it('stop during the execution wait ends the cycle promptly (stopped, no CHECK); a new trigger then succeeds', async () => {
    const res = await trigger('to stop');
    expect(res.status).toBe(202);
    const id = res.body.data.cycle_id;
    await until(status, (s) => s.current_phase === 'DO' && s.current_cycle?.execution_ends_at !== null, 'the execution wait');
    const started = Date.now();
    const stop = await request(api('/pdca/stop'), { method: 'POST' });
    const elapsed = Date.now() - started;
    expect(stop.status).toBe(200);
    expect(stop.body.data).toEqual({ cycle_id: id, stop_requested: true, status: 'stopped' });
    expect(elapsed).toBeLessThan(1_000);
    const done = await cycle(id);
    expect(done).toMatchObject({ status: 'stopped', error: 'stopped on request' });
    expect(done.phases.map((p: { phase: string }) => p.phase)).toEqual(['IDLE', 'PLAN', 'DO', 'IDLE']);
    expect((await status()).cycle_running).toBe(false);

    const again = await request(api('/pdca/trigger'), { method: 'POST' }); // no body: reason "manual"
    expect(again.status).toBe(202);
    expect(again.body.data.cycle_id).toBe(id + 1);
    expect((await cycle(id + 1)).trigger).toEqual({ type: 'manual', reason: 'manual' });
    expect((await request(api('/pdca/stop'), { method: 'POST' })).body.data).toMatchObject({ cycle_id: id + 1, status: 'stopped' });
    expect((await request(api('/pdca/stop'), { method: 'POST' })).body.data).toEqual({ cycle_id: null, stop_requested: false, status: null });
  });

  it('GET /pdca/cycles pages the history newest first; unknown ids are 404; bad queries 400', async () => {
    const first = await request(api('/pdca/cycles?limit=2'));
    expect(first.status).toBe(200);
    const ids = first.body.data.cycles.map((c: { cycle_id: number }) => c.cycle_id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBeGreaterThan(ids[1]);
    const next = await request(api(`/pdca/cycles?limit=2&before=${first.body.data.next_before}`));
    expect(next.body.data.cycles[0].cycle_id).toBeLessThan(ids[1]);
    expect((await request(api('/pdca/cycles?status=stopped'))).body.data.cycles.every((c: { status: string }) => c.status === 'stopped')).toBe(true);
    expect((await request(api('/pdca/cycles/999999'))).body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await request(api('/pdca/cycles?limit=1000'))).status).toBe(400);
    expect((await request(api('/pdca/trigger'), { body: { reason: 'x', extra: 1 } })).status).toBe(400);
  });

  it('POST /strategy/plan (plugin compat): flat plan_type and plan, lenient body, LLM when it answers, built-in when it fails', async () => {
    // The plugin's body: unknown fields tolerated, a partial game state is enough.
    const res = await request(api('/strategy/plan'), {
      body: { game_state: { character: { name: 'Knight1', position: { map: 'prt_fild08', x: 10, y: 20 } }, plugin_version: 3 }, request_id: 42, extra: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBeUndefined(); // flat, not the envelope
    expect(res.body).toMatchObject({ plan_type: 'farming', planner: 'built-in', request_id: 42, pdca: { cycle_running: false } });
    expect(res.body.plan).toMatchObject({ id: res.body.strategy_id, macros: [{ template: 'farming_rotation', name: 'pdca_farming' }] });
    expect(res.body.fallback_reason).toMatch(/HTTP 500/);

    llm.handle((r) =>
      replyJson(r.res, 200, {
        choices: [{ message: { content: JSON.stringify({ plan_type: 'support', goal: 'keep the party alive', rationale: 'stub', macros: [{ template: 'party_support', params: { heal_skill: 'Heal' } }] }) } }],
      }),
    );
    try {
      const viaLlm = await request(api('/strategy/plan'), { body: {} });
      expect(viaLlm.status).toBe(200);
      expect(viaLlm.body).toMatchObject({ plan_type: 'support', planner: 'llm:stub-model', plan: { goal: 'keep the party alive', macros: [{ name: 'pdca_support' }] } });
      expect(viaLlm.body.fallback_reason).toBeUndefined();

      llm.handle(() => undefined); // hangs: the request timeout (1 s) bounds the answer
      const started = Date.now();
      const slow = await request(api('/strategy/plan'), { body: { character_name: 'Knight1' } });
      expect(slow.status).toBe(200);
      expect(slow.body).toMatchObject({ planner: 'built-in', plan_type: 'combat' });
      expect(slow.body.fallback_reason).toMatch(/UpstreamTimeoutError/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      llm.handle((r) => replyJson(r.res, 500, { error: 'LLM down' }));
    }

    const bad = await request(api('/strategy/plan'), { body: { game_state: { character: { hp: 'lots' } } } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 'error', error: { code: 'INVALID_REQUEST' } });
  });
});

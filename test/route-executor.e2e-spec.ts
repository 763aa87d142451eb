import { SessionSerializer } from '../src/common/concurrency';
import { RequestStats } from '../src/common/http/request-stats';
import { until } from '../src/common/testing/wait.test-kit';
import { SessionService } from '../src/modules/session';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';
import { PipelineGuardProbeModule, PipelineProbe, PipelineProbeModule } from './support/pipeline-probe.module';

const TOKEN = 'route-executor-token-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

const HOT_ROUTES = ['CompatController.decide', 'DecisionController.update'];

function executorOf(e: RunningEngine, route: string) {
  return e.engine.routeExecutors.find((c) => c.route === route);
}

interface Kind {
  name: string;
  path: string;
  raw: boolean;
  body(e: RunningEngine): Promise<Record<string, unknown>>;
  invalid: Record<string, unknown>;
}

const KINDS: Kind[] = [
  {
    name: 'POST /decide through the front door',
    path: '/api/v1/decide',
    raw: true,
    body: async () => ({ game_state: pluginGameState({ name: 'FastDecide' }) }),
    invalid: { game_state: { character: { name: 'FastDecide' } } },
  },
  {
    name: 'POST /decide through Fastify',
    path: '/api/v1/decide?via=fastify',
    raw: true,
    body: async () => ({ game_state: pluginGameState({ name: 'FastDecide' }) }),
    invalid: { game_state: { character: { name: 'FastDecide' } } },
  },
  {
    name: 'POST /state through the front door',
    path: '/api/v1/state',
    raw: false,
    body: async (e) => ({ session_id: await e.engine.app.get(SessionService).sessionIdFor({ characterName: 'FastState' }), game_state: pluginGameState({ name: 'FastState' }) }),
    invalid: { session_id: 'not-a-uuid', game_state: pluginGameState({ name: 'FastState' }) },
  },
  {
    name: 'POST /state through Fastify',
    path: '/api/v1/state?via=fastify',
    raw: false,
    body: async (e) => ({ session_id: await e.engine.app.get(SessionService).sessionIdFor({ characterName: 'FastState' }), game_state: pluginGameState({ name: 'FastState' }) }),
    invalid: { session_id: 'not-a-uuid', game_state: pluginGameState({ name: 'FastState' }) },
  },
];

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect([res.status, res.body?.status, res.body?.error?.code]).toEqual([status, 'error', code]);
}

/**
 * The composed route executor (src/common/http/route-executor.ts) runs every guard a route has,
 * whatever its class — here a global guard the engine does not know, registered the Nest way,
 * as one added tomorrow would be — and leaves a route with an interceptor to Nest's executor.
 */
describe('route executor', () => {
  describe('a global guard the engine does not know, no interceptor', () => {
    let e: RunningEngine;
    let probe: PipelineProbe;
    beforeAll(async () => {
      e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN }, { extraImports: [PipelineGuardProbeModule] });
      probe = e.engine.app.get(PipelineProbe);
    });
    afterAll(() => e?.stop());
    afterEach(() =>
      until(() => e.engine.app.get(SessionSerializer).stats().activeSessions === 0 && e.engine.app.get(RequestStats).inFlight === 0, 'every request finished'),
    );

    it('serves the per-tick routes with the composed executor', () => {
      for (const route of HOT_ROUTES) expect(executorOf(e, route)).toEqual({ route, executor: 'fast' });
    });

    describe.each(KINDS)('$name', (kind) => {
      it('runs the unknown guard: counted when it allows, its refusal (thrown, false later, false as an Observable) answered 403 in the envelope', async () => {
        const body = await kind.body(e);
        const before = probe.guarded;
        const ok = await request(`${e.url}${kind.path}`, { body, headers: auth });
        expect(ok.status).toBe(200);
        expect(kind.raw ? typeof ok.body.action : ok.body.status).toBe(kind.raw ? 'string' : 'success');
        expect(probe.guarded).toBe(before + 1);

        const later = await request(`${e.url}${kind.path}`, { body, headers: { ...auth, 'x-test-answer': 'allow-later' } });
        expect(later.status).toBe(200);
        expect(probe.guarded).toBe(before + 2);

        expectError(await request(`${e.url}${kind.path}`, { body, headers: { ...auth, 'x-test-deny': '1' } }), 403, 'FORBIDDEN');
        expectError(await request(`${e.url}${kind.path}`, { body, headers: { ...auth, 'x-test-answer': 'refuse-later' } }), 403, 'FORBIDDEN');
        expectError(await request(`${e.url}${kind.path}`, { body, headers: { ...auth, 'x-test-answer': 'refuse-observable' } }), 403, 'FORBIDDEN');
        expect(probe.guarded).toBe(before + 2);
      });

      it('keeps the engine’s own guard and pipes: 401 without the token, 400 for an invalid body', async () => {
        const body = await kind.body(e);
        expectError(await request(`${e.url}${kind.path}`, { body }), 401, 'INVALID_TOKEN');
        expectError(await request(`${e.url}${kind.path}`, { body: kind.invalid, headers: auth }), 400, 'INVALID_REQUEST');
      });
    });

    it('answers the same as Nest’s executor (HTTP_FAST_ROUTES=0)', async () => {
      const nest = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, HTTP_FAST_ROUTES: '0' }, { extraImports: [PipelineGuardProbeModule] });
      try {
        expect(nest.engine.routeExecutors).toEqual([]);
        for (const kind of KINDS) {
          const [a, b] = await Promise.all([e, nest].map(async (engine) => request(`${engine.url}${kind.path}`, { body: await kind.body(engine), headers: auth })));
          expect([b.status, b.headers.get('content-type'), b.headers.get('etag') !== null]).toEqual([a.status, a.headers.get('content-type'), a.headers.get('etag') !== null]);
          expect(Object.keys(b.body).sort()).toEqual(Object.keys(a.body).sort());
          const [x, y] = await Promise.all([e, nest].map((engine) => request(`${engine.url}${kind.path}`, { body: kind.invalid, headers: auth })));
          expect([y.status, y.body.error.code, y.body.error.message]).toEqual([x.status, x.body.error.code, x.body.error.message]);
        }
      } finally {
        await nest.stop();
      }
    });
  });

  it('leaves a route with an interceptor to Nest’s executor, which runs it', async () => {
    const e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN }, { extraImports: [PipelineProbeModule] });
    try {
      for (const route of HOT_ROUTES) expect(executorOf(e, route)).toEqual({ route, executor: 'nest', reason: 'interceptors' });
      const probe = e.engine.app.get(PipelineProbe);
      const res = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'Intercepted' }) }, headers: auth });
      expect(res.status).toBe(200);
      expect(probe.seenFor('/api/v1/decide')).toHaveLength(1);
    } finally {
      await e.stop();
    }
  });
});

import { type CanActivate, Controller, Module, Post, UseGuards } from '@nestjs/common';
import { SessionSerializer, type SessionTurn } from '../src/common/concurrency';
import { LeanRoute } from '../src/common/http/lean-route';
import { until } from '../src/common/testing/wait.test-kit';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

const TOKEN = 'lean-route-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/**
 * POST /api/v1/decide and POST /api/v1/state are served by the lean path (@LeanRoute), not
 * Nest's guard/interceptor/pipe pipeline: these pin down that the contract is the same.
 */
describe('hot routes on the lean path', () => {
  let e: RunningEngine;
  let serializer: SessionSerializer;
  beforeAll(async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN });
    serializer = e.engine.app.get(SessionSerializer);
  });
  afterAll(() => e.stop());

  // Whatever a test did (errors, refusals, a client gone), no turn is left behind.
  afterEach(() => until(() => serializer.stats().activeSessions === 0 && serializer.inFlight === 0, 'every turn released'));

  it('need the bearer token, and answer errors in the envelope with the request id', async () => {
    for (const path of ['/api/v1/decide', '/api/v1/state']) {
      const res = await request(`${e.url}${path}`, { body: { game_state: pluginGameState() }, headers: { 'x-request-id': 'lean-1' } });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ status: 'error', error: { code: 'INVALID_TOKEN' }, metadata: { request_id: 'lean-1' } });
    }
  });

  it('answer decide flat and state in the success envelope', async () => {
    const decide = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'LeanFlat' }), request_id: 7 }, headers: auth });
    expect(decide.status).toBe(200);
    expect(decide.body).toMatchObject({ action: expect.any(String), tier_used: expect.any(String), request_id: 7, state_version: 1 });
    expect(decide.body.status).toBeUndefined();

    const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'test', client_version: '1' }, headers: auth });
    const sid = hs.body.data.session_id as string;
    const state = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState() }, headers: { ...auth, 'x-request-id': 'lean-2' } });
    expect(state.status).toBe(200);
    expect(state.headers.get('etag')).toBe('"1"');
    expect(state.body).toMatchObject({ status: 'success', data: { session_id: sid, version: 1 }, metadata: { request_id: 'lean-2' } });
    expect(typeof state.body.metadata.processing_time_ms).toBe('number');
  });

  it('refuse a malformed body at once, even while the session is busy, and serve a valid one when its turn comes', async () => {
    const key = 'character:LeanBusy';
    const held: SessionTurn = await serializer.acquireTurn(key);
    try {
      const bad = await request(`${e.url}/api/v1/decide`, { body: { game_state: { character: { name: 'LeanBusy' } } }, headers: auth });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_REQUEST');
      expect(serializer.queueDepth(key)).toBe(0);

      let answered = false;
      const good = request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'LeanBusy' }) }, headers: auth }).then((r) => {
        answered = true;
        return r;
      });
      await until(() => serializer.queueDepth(key) === 1);
      expect(answered).toBe(false);
      held();
      expect((await good).status).toBe(200);
    } finally {
      held();
    }
  });

  it('drop a waiting request from the queue when its client goes away', async () => {
    const key = 'character:LeanGone';
    const held = await serializer.acquireTurn(key);
    try {
      const client = new AbortController();
      const gone = request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'LeanGone' }) }, headers: auth, signal: client.signal }).catch(
        (err: unknown) => err,
      );
      await until(() => serializer.queueDepth(key) === 1);
      client.abort();
      await gone;
      await until(() => serializer.queueDepth(key) === 0);
    } finally {
      held();
    }
    const next = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'LeanGone' }) }, headers: auth });
    expect(next.status).toBe(200);
    // The request that left never ran: this is the session's first applied state.
    expect(next.body.state_version).toBe(1);
  });

  it('stay documented in OpenAPI', async () => {
    const doc = await request(`${e.url}/docs-json`, { headers: auth });
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/api/v1/decide']?.post).toBeDefined();
    expect(doc.body.paths['/api/v1/state']?.post).toBeDefined();
  });
});

class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller('test-lean')
class GuardedLeanController {
  @Post('guarded')
  @UseGuards(AllowAll)
  @LeanRoute(() => [])
  guarded() {
    return {};
  }
}

@Module({ controllers: [GuardedLeanController] })
class GuardedLeanModule {}

describe('lean route declarations', () => {
  it('refuse to boot with route-level guards the lean handler would silently skip', async () => {
    await expect(startEngine({}, { extraImports: [GuardedLeanModule] })).rejects.toThrow(/cannot have route-level __guards__/);
  });
});

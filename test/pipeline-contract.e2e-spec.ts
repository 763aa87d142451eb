import * as http from 'node:http';
import * as net from 'node:net';
import { SessionSerializer } from '../src/common/concurrency';
import { RequestStats } from '../src/common/http/request-stats';
import { until } from '../src/common/testing/wait.test-kit';
import { parsePrometheusText, promSum } from '../src/modules/metrics/prometheus-text.test-kit';
import { request, spawnEngine, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

const TOKEN = 'front-door-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A POST with a body sent exactly as given (headers included), over a fresh socket. */
function rawPost(url: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** The envelope without what differs between any two answers (time, request id). */
function errorShape(body: { status: string; error: unknown }) {
  return { status: body.status, error: body.error };
}

/**
 * The hot routes are taken off Node's server before Fastify (src/common/http/front-door.ts).
 * A probe hook counts what reaches Fastify, so each test knows which way a request went; the
 * contract (answers, errors, counting, logging) must be the same both ways.
 */
describe('front door for the hot routes', () => {
  let e: RunningEngine;
  let serializer: SessionSerializer;
  const reachedFastify: string[] = [];
  beforeAll(async () => {
    e = await startEngine(
      { OPENKORE_AI_TOKEN: TOKEN },
      {
        beforeInit: (app) => {
          app
            .getHttpAdapter()
            .getInstance()
            .addHook('onRequest', (req, _reply, done) => {
              reachedFastify.push(req.url);
              done();
            });
        },
      },
    );
    serializer = e.engine.app.get(SessionSerializer);
  });
  afterAll(() => e.stop());
  beforeEach(() => {
    reachedFastify.length = 0;
  });
  afterEach(() => until(() => serializer.stats().activeSessions === 0 && e.engine.app.get(RequestStats).inFlight === 0, 'every request finished'));

  it('serves a plain decide itself, with the same answer Fastify gives', async () => {
    const body = { game_state: pluginGameState({ name: 'DoorSame' }), request_id: 3 };
    const front = await request(`${e.url}/api/v1/decide`, { body, headers: { ...auth, 'x-request-id': 'door-1' } });
    expect(reachedFastify).toEqual([]);
    // A query string is not the exact path: Fastify serves it, through the same lean handler.
    const viaFastify = await request(`${e.url}/api/v1/decide?via=fastify`, { body, headers: auth });
    expect(reachedFastify).toEqual(['/api/v1/decide?via=fastify']);

    expect(front.status).toBe(200);
    expect(front.headers.get('x-request-id')).toBe('door-1');
    expect(front.headers.get('content-type')).toBe(viaFastify.headers.get('content-type'));
    const { latency_ms: l1, state_version: v1, ...a } = front.body;
    const { latency_ms: l2, state_version: v2, ...b } = viaFastify.body;
    expect(a).toEqual(b);
    expect([typeof l1, typeof l2, v1, v2]).toEqual(['number', 'number', 1, 2]);
  });

  it('serves POST /state in the envelope with its ETag and a generated request id', async () => {
    const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'test', client_version: '1' }, headers: auth });
    const sid = hs.body.data.session_id as string;
    reachedFastify.length = 0;
    const res = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState() }, headers: auth });
    expect(reachedFastify).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toMatchObject({ status: 'success', data: { session_id: sid, version: 1 }, metadata: { request_id: res.headers.get('x-request-id') } });

    const stale = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState(), expected_version: 0 }, headers: auth });
    expect(reachedFastify).toEqual([]);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
  });

  it('answers a bad body with the envelope Fastify would give', async () => {
    const deep = `{"game_state":${'['.repeat(40)}${']'.repeat(40)}}`;
    const cases: Array<[string, string]> = [
      ['invalid JSON', '{"game_state": '],
      ['poisoned JSON', '{"__proto__": {"x": 1}, "game_state": {}}'],
      ['too deep', deep],
      ['invalid state', JSON.stringify({ game_state: { character: { name: 'DoorBad' } } })],
      ['not an object', '[1,2]'],
    ];
    for (const [what, text] of cases) {
      reachedFastify.length = 0;
      const front = await request(`${e.url}/api/v1/decide`, { rawBody: text, headers: { ...auth, 'content-type': 'application/json', 'x-request-id': 'door-bad' } });
      expect([what, reachedFastify.length]).toEqual([what, 0]);
      const viaFastify = await request(`${e.url}/api/v1/decide?via=fastify`, { rawBody: text, headers: { ...auth, 'content-type': 'application/json' } });
      expect([what, reachedFastify.length]).toEqual([what, 1]);
      expect([what, front.status]).toEqual([what, 400]);
      expect([what, front.status, errorShape(front.body)]).toEqual([what, viaFastify.status, errorShape(viaFastify.body)]);
      expect(front.body.metadata.request_id).toBe('door-bad');
      expect(front.headers.get('x-request-id')).toBe('door-bad');
    }
  });

  it('leaves to Fastify whatever it does not take, answered as for every other route', async () => {
    const body = JSON.stringify({ game_state: pluginGameState({ name: 'DoorLeft' }) });
    const json = { ...auth, 'content-type': 'application/json' };
    const cases: Array<[string, () => Promise<{ status: number; body: any }>, number, string?]> = [
      ['no token', () => request(`${e.url}/api/v1/decide`, { rawBody: body, headers: { 'content-type': 'application/json' } }), 401, 'INVALID_TOKEN'],
      ['wrong token', () => request(`${e.url}/api/v1/decide`, { rawBody: body, headers: { 'content-type': 'application/json', authorization: 'Bearer nope' } }), 401, 'INVALID_TOKEN'],
      ['text body', () => request(`${e.url}/api/v1/decide`, { rawBody: body, headers: { ...auth, 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['too large', () => rawPost(e.url, '/api/v1/decide', ' '.repeat(1024 * 1024 + 1), json), 413, 'PAYLOAD_TOO_LARGE'],
      ['empty', () => rawPost(e.url, '/api/v1/decide', '', json), 400, 'INVALID_REQUEST'],
      ['chunked', () => rawPost(e.url, '/api/v1/decide', body, { ...json, 'transfer-encoding': 'chunked' }), 200],
      ['expect', () => rawPost(e.url, '/api/v1/decide', body, { ...json, expect: '100-continue' }), 200],
      ['charset', () => rawPost(e.url, '/api/v1/decide', body, { ...json, 'content-type': 'application/json; charset=latin1' }), 200],
      ['GET', () => request(`${e.url}/api/v1/decide`, { headers: auth }), 404, 'NOT_FOUND'],
    ];
    for (const [what, send, status, code] of cases) {
      reachedFastify.length = 0;
      const res = await send();
      expect([what, reachedFastify.length, res.status]).toEqual([what, 1, status]);
      if (code) expect([what, res.body.error.code]).toEqual([what, code]);
    }
  });

  it('counts, times and observes its requests like Fastify does', async () => {
    const stats = e.engine.app.get(RequestStats);
    const before = stats.requestsTotal;
    const metricsBefore = await decideCount();
    for (let i = 0; i < 3; i += 1) {
      const res = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: `DoorCount${i}` }) }, headers: auth });
      expect(res.status).toBe(200);
    }
    await request(`${e.url}/api/v1/decide`, { rawBody: '{', headers: { ...auth, 'content-type': 'application/json' } });
    await until(() => stats.requestsTotal >= before + 4 + 1, 'requests counted');
    const after = await decideCount();
    expect(after.ok - metricsBefore.ok).toBe(3);
    expect(after.bad - metricsBefore.bad).toBe(1);
  });

  it('survives a client that leaves mid-body, and releases everything', async () => {
    const stats = e.engine.app.get(RequestStats);
    const before = stats.requestsTotal;
    const socket = net.connect(Number(new URL(e.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /api/v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: ${auth.authorization}\r\ncontent-length: 500\r\n\r\n{"game_state":`,
      );
      await until(() => stats.inFlight === 1, 'request under way');
    } finally {
      socket.destroy();
    }
    await until(() => stats.inFlight === 0 && stats.requestsTotal === before + 1, 'request counted as finished');
    const next = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'DoorAfter' }) }, headers: auth });
    expect(next.status).toBe(200);
  });

  it.each([
    ['the front door', ''],
    ['Fastify', '?via=fastify'],
  ])('releases a pipelined request queued behind another when the client drops the connection (%s)', async (_way, query) => {
    const stats = e.engine.app.get(RequestStats);
    const held = await serializer.acquireTurn('character:PipeSlow');
    const raw = (name: string) => {
      const text = JSON.stringify({ game_state: pluginGameState({ name }) });
      return `POST /api/v1/decide${query} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: ${auth.authorization}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    const aborted = (await decideCount()).aborted;
    const socket = net.connect(Number(new URL(e.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // The first waits for its session's turn; the second (another bot) is decided, but its
      // response is queued behind the first's on this connection.
      socket.write(raw('PipeSlow') + raw('PipeFast'));
      await until(() => serializer.queueDepth('character:PipeSlow') === 1 && serializer.stats().activeSessions === 2, 'one waiting, one answered into the queue');
      socket.destroy();
      await until(() => serializer.queueDepth('character:PipeSlow') === 0, 'the waiting one left the queue');
    } finally {
      socket.destroy();
      held();
    }
    // Before the fix, PipeFast's turn and both in-flight counts were held forever.
    await until(() => serializer.stats().activeSessions === 0 && serializer.inFlight === 0 && stats.inFlight === 0, 'everything released');
    const next = await request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'PipeFast' }) }, headers: auth });
    expect(next.status).toBe(200);
    expect((await decideCount()).aborted - aborted).toBe(2);
  });

  async function decideCount(): Promise<{ ok: number; bad: number; aborted: number }> {
    const res = await fetch(`${e.url}/metrics`, { headers: auth });
    const f = parsePrometheusText(await res.text());
    const count = (status: string) =>
      promSum(f, 'openkore_http_request_duration_seconds', { route: '/api/v1/decide', method: 'POST', status }, 'openkore_http_request_duration_seconds_count');
    // Both ways label the route by its pattern: a query string does not make a new series.
    return { ok: count('200'), bad: count('400'), aborted: count('499') };
  }
});

describe('front door access log', () => {
  it('logs its requests with the request id, rejected ones at info', async () => {
    const engine = await spawnEngine({ LOG_LEVEL: 'info', DATA_DIR: tempDir() });
    try {
      const res = await request(`${engine.url}/api/v1/decide`, { rawBody: '{', headers: { 'content-type': 'application/json', 'x-request-id': 'door-log-1' } });
      expect(res.status).toBe(400);
      // Whole lines only: the last one may still be arriving.
      const accessLines = () =>
        engine.logs
          .join('')
          .split('\n')
          .slice(0, -1)
          .filter((l) => l.includes('door-log-1') && l.includes('request rejected'));
      await until(() => accessLines().length > 0, 'access line written');
      const line = accessLines().map((l) => JSON.parse(l) as unknown);
      expect(line).toEqual([expect.objectContaining({ level: 'info', request_id: 'door-log-1', method: 'POST', url: '/api/v1/decide', status: 400 })]);
    } finally {
      await engine.kill();
    }
  });
});

describe('front door with the other listener, the rate limit and shutdown', () => {
  it('serves the compat listener too, and leaves a request past the rate limit to Fastify’s 429', async () => {
    const reached: string[] = [];
    const e = await startEngine(
      { COMPAT_PORT: 'auto', RATE_LIMIT_RPS: '1' },
      { beforeInit: (app) => app.getHttpAdapter().getInstance().addHook('onRequest', (req, _reply, done) => (reached.push(req.url), done())) },
    );
    try {
      // Together, so the one-per-second bucket cannot refill in between on a slow machine.
      const both = await Promise.all(
        ['DoorCompatA', 'DoorCompatB'].map((name) => request(`${e.compatUrl}/api/v1/decide`, { body: { game_state: pluginGameState({ name }) } })),
      );
      expect(both.map((r) => r.status).sort()).toEqual([200, 429]);
      // The one served went through the front door; the limited one was refused by Fastify's hook.
      expect(reached).toEqual([]);
      const limited = both.find((r) => r.status === 429)!;
      expect(limited.body.error.code).toBe('RATE_LIMIT');
      // (Fastify's limiter hook refuses it before the probe hook sees it.)
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await e.stop();
    }
  });

  it('answers a request in flight when shutdown begins, telling the client to close the connection', async () => {
    const e = await startEngine();
    const serializer = e.engine.app.get(SessionSerializer);
    const held = await serializer.acquireTurn('character:DoorDrain');
    let stopping: Promise<void> | undefined;
    try {
      const inFlight = request(`${e.url}/api/v1/decide`, { body: { game_state: pluginGameState({ name: 'DoorDrain' }) } });
      await until(() => serializer.queueDepth('character:DoorDrain') === 1, 'request waiting for its turn');
      stopping = e.stop();
      held();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.headers.get('connection')).toBe('close');
    } finally {
      held();
      await (stopping ?? e.stop());
    }
  });
});

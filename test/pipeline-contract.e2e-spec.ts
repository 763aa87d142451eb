import * as http from 'node:http';
import * as net from 'node:net';
import { SessionSerializer, type SessionTurn } from '../src/common/concurrency';
import { RequestStats } from '../src/common/http/request-stats';
import { until } from '../src/common/testing/wait.test-kit';
import { parsePrometheusText, promSum } from '../src/modules/metrics/prometheus-text.test-kit';
import { SessionService } from '../src/modules/session';
import { StateService } from '../src/modules/state';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';
import { PipelineProbe, PipelineProbeModule } from './support/pipeline-probe.module';
import { ProbeModule } from './support/probe.module';

const TOKEN = 'pipeline-contract-token-0123';
const auth = { authorization: `Bearer ${TOKEN}` };
const QUEUE_DEPTH = 4;

/** A bot of one route kind: the session it is serialized under, and what it sends. */
interface Bot {
  /** The session id its requests are serialized under (what a test holds to make them queue). */
  session: string;
  body(seq: number): Record<string, unknown>;
  /** A body the route refuses (400 INVALID_REQUEST). */
  invalid: Record<string, unknown>;
  /** Where its answer says in which order it ran (a version, a run counter). */
  ranAt(answer: any): number;
}

interface Kind {
  name: string;
  /** The path sent (a query string makes Fastify serve a hot route instead of the front door). */
  path: string;
  /** The route pattern (its metrics label). */
  route: string;
  frontDoor: boolean;
  /** Success answered flat (@RawResponse) rather than in the envelope. */
  raw: boolean;
  bot(name: string): Promise<Bot>;
}

let e: RunningEngine;
const logLines: string[] = [];
let partialLine = '';

const stateBot = async (name: string): Promise<Bot> => {
  const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'contract', client_version: '1', character_name: name }, headers: auth });
  const session = hs.body.data.session_id as string;
  return {
    session,
    body: () => ({ session_id: session, game_state: pluginGameState({ name }) }),
    invalid: { session_id: 'not-a-uuid', game_state: pluginGameState({ name }) },
    ranAt: (a) => a.data.version,
  };
};
const decideBot = async (name: string): Promise<Bot> => {
  // The plugin never opens a session: its character's is found (created on first sight) by name.
  const session = await e.engine.app.get(SessionService).sessionIdFor({ characterName: name });
  return {
    session,
    body: (seq) => ({ game_state: pluginGameState({ name }), request_id: seq }),
    invalid: { game_state: { character: { name } } },
    ranAt: (a) => a.state_version,
  };
};
const probeBot = async (name: string): Promise<Bot> => ({
  session: `probe-${name}`,
  body: (seq) => ({ session_id: `probe-${name}`, seq }),
  invalid: { session_id: `probe-${name}`, seq: 'first' },
  ranAt: (a) => a.data.ran,
});

const KINDS: Kind[] = [
  { name: 'POST /state through the front door', path: '/api/v1/state', route: '/api/v1/state', frontDoor: true, raw: false, bot: stateBot },
  { name: 'POST /state through Fastify', path: '/api/v1/state?via=fastify', route: '/api/v1/state', frontDoor: false, raw: false, bot: stateBot },
  { name: 'POST /decide through the front door', path: '/api/v1/decide', route: '/api/v1/decide', frontDoor: true, raw: true, bot: decideBot },
  { name: 'POST /decide through Fastify', path: '/api/v1/decide?via=fastify', route: '/api/v1/decide', frontDoor: false, raw: true, bot: decideBot },
  { name: 'an ordinary route (POST /test/serial)', path: '/test/serial', route: '/test/serial', frontDoor: false, raw: false, bot: probeBot },
];

/** A POST with a body sent exactly as given (headers included), over a fresh socket. */
function rawPost(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${e.url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

function expectErrorEnvelope(res: { status: number; body: any; headers: { get(n: string): string | null } | http.IncomingHttpHeaders }, status: number, code: string, requestId?: string) {
  expect([res.status, res.body?.status, res.body?.error?.code]).toEqual([status, 'error', code]);
  expect(typeof res.body.error.message).toBe('string');
  expect(Number.isNaN(Date.parse(res.body.metadata.timestamp))).toBe(false);
  const header = 'get' in res.headers && typeof res.headers.get === 'function' ? res.headers.get('x-request-id') : (res.headers as http.IncomingHttpHeaders)['x-request-id'];
  expect(res.body.metadata.request_id).toBe(header);
  if (requestId) expect(header).toBe(requestId);
}

async function metricCount(route: string, status: string): Promise<number> {
  const res = await fetch(`${e.url}/metrics`, { headers: auth });
  const families = parsePrometheusText(await res.text());
  return promSum(families, 'openkore_http_request_duration_seconds', { route, method: 'POST', status }, 'openkore_http_request_duration_seconds_count');
}

/** Whole access-log lines (JSON) carrying this request id. */
function accessLines(requestId: string): Array<Record<string, unknown>> {
  return logLines
    .filter((l) => l.includes(requestId))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.status === 'number');
}

/**
 * The request pipeline's contract, the same for every kind of route: the per-tick routes through
 * the front door and through Fastify, and an ordinary Nest route. Every kind goes through the
 * same stages, so each answers every question the same way.
 */
describe('request pipeline contract', () => {
  let serializer: SessionSerializer;
  let probe: PipelineProbe;
  const reachedFastify: string[] = [];

  beforeAll(async () => {
    e = await startEngine(
      { OPENKORE_AI_TOKEN: TOKEN, SESSION_QUEUE_DEPTH: String(QUEUE_DEPTH), LOG_LEVEL: 'debug' },
      {
        extraImports: [ProbeModule, PipelineProbeModule],
        logDestination: {
          write(chunk: string) {
            const lines = (partialLine + chunk).split('\n');
            partialLine = lines.pop()!;
            logLines.push(...lines);
          },
        },
        beforeInit: (app) =>
          app
            .getHttpAdapter()
            .getInstance()
            .addHook('onRequest', (req, _reply, done) => {
              reachedFastify.push(req.url);
              done();
            }),
      },
    );
    serializer = e.engine.app.get(SessionSerializer);
    probe = e.engine.app.get(PipelineProbe);
  });
  afterAll(() => e?.stop());
  beforeEach(() => {
    reachedFastify.length = 0;
  });
  // Whatever a test did (errors, refusals, a client gone), no turn and no request is left behind.
  afterEach(() => until(() => serializer.stats().activeSessions === 0 && e.engine.app.get(RequestStats).inFlight === 0, 'every request finished'));

  /** Sends a kind's request; checks it went the way the kind says. */
  async function send(kind: Kind, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
    const res = await request(`${e.url}${kind.path}`, { body, headers: { ...auth, ...headers }, signal });
    return res;
  }

  describe.each(KINDS)('$name', (kind) => {
    let bot: Bot;
    let n = 0;
    beforeAll(async () => {
      bot = await kind.bot(`Contract${KINDS.indexOf(kind)}`);
    });
    const rid = (what: string) => `contract-${KINDS.indexOf(kind)}-${what}-${++n}`;

    it('goes the way it says (front door or Fastify), through the global guard and interceptor registered the Nest way', async () => {
      const guarded = probe.guarded;
      const seen = probe.seenFor(kind.path).length;
      const res = await send(kind, bot.body(1));
      expect(res.status).toBe(200);
      expect(reachedFastify.length).toBe(kind.frontDoor ? 0 : 1);
      expect(probe.guarded).toBe(guarded + 1);
      // The interceptor saw it, serialized under the bot's one session.
      expect(probe.seenFor(kind.path).slice(seen)).toEqual([{ method: 'POST', url: kind.path, session: bot.session }]);
      // A global guard's refusal reaches this route too, in the envelope.
      const denied = await send(kind, bot.body(2), { 'x-test-deny': '1', 'x-request-id': rid('deny') });
      expectErrorEnvelope(denied, 403, 'FORBIDDEN');
    });

    it('needs the bearer token: 401 INVALID_TOKEN in the envelope, with the request id', async () => {
      const id = rid('auth');
      const none = await request(`${e.url}${kind.path}`, { body: bot.body(1), headers: { 'x-request-id': id } });
      expectErrorEnvelope(none, 401, 'INVALID_TOKEN', id);
      const wrong = await request(`${e.url}${kind.path}`, { body: bot.body(1), headers: { authorization: 'Bearer wrong-token-0123456789' } });
      expectErrorEnvelope(wrong, 401, 'INVALID_TOKEN');
    });

    it('answers in its shape with the caller’s request id, or a generated one', async () => {
      const id = rid('ok');
      const res = await send(kind, bot.body(1), { 'x-request-id': id });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(id);
      if (kind.raw) {
        expect(res.body.status).toBeUndefined();
        expect(res.body.session_id).toBe(bot.session);
      } else {
        expect(res.body).toMatchObject({ status: 'success', metadata: { request_id: id } });
        expect(typeof res.body.metadata.processing_time_ms).toBe('number');
      }
      const unsafe = await send(kind, bot.body(2), { 'x-request-id': 'has spaces and "quotes"' });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('refuses bad input with a stable code in the envelope: invalid body, invalid JSON, wrong type, too large, wrong method', async () => {
      const id = rid('bad');
      expectErrorEnvelope(await send(kind, bot.invalid, { 'x-request-id': id }), 400, 'INVALID_REQUEST', id);
      const json = { ...auth, 'content-type': 'application/json' };
      const broken = await rawPost(kind.path, '{"game_state": ', json);
      expectErrorEnvelope(broken, 400, 'INVALID_REQUEST');
      expect(broken.body.error.details).toEqual({ reason: 'FST_ERR_CTP_INVALID_JSON_BODY' });
      expectErrorEnvelope(await rawPost(kind.path, JSON.stringify(bot.body(1)), { ...auth, 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectErrorEnvelope(await rawPost(kind.path, ' '.repeat(1024 * 1024 + 1), json), 413, 'PAYLOAD_TOO_LARGE');
      const wrongMethod = await request(`${e.url}${kind.path}`, { method: 'DELETE', headers: auth });
      expectErrorEnvelope(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
      expect(wrongMethod.headers.get('allow')).toBe('POST');
    });

    it("runs the bot's requests one at a time, in arrival order (FIFO)", async () => {
      const held: SessionTurn = await serializer.acquireTurn(bot.session);
      const answers: Array<Promise<{ status: number; body: any }>> = [];
      try {
        for (let i = 0; i < QUEUE_DEPTH; i++) {
          answers.push(send(kind, bot.body(10 + i)));
          // One at a time into the queue: the arrival order is known.
          await until(() => serializer.queueDepth(bot.session) === i + 1, `request ${i} queued`);
        }
      } finally {
        held();
      }
      const done = await Promise.all(answers);
      expect(done.map((a) => a.status)).toEqual(Array(QUEUE_DEPTH).fill(200));
      const ran = done.map((a) => bot.ranAt(a.body));
      expect(ran).toEqual([...ran].sort((a, b) => a - b));
      expect(new Set(ran).size).toBe(QUEUE_DEPTH);
    });

    it('answers 429 QUEUE_FULL past the queue depth, at once', async () => {
      const held = await serializer.acquireTurn(bot.session);
      const queued: Array<Promise<{ status: number }>> = [];
      try {
        for (let i = 0; i < QUEUE_DEPTH; i++) queued.push(send(kind, bot.body(20 + i)));
        await until(() => serializer.queueDepth(bot.session) === QUEUE_DEPTH, 'queue full');
        const id = rid('full');
        expectErrorEnvelope(await send(kind, bot.body(30), { 'x-request-id': id }), 429, 'QUEUE_FULL', id);
      } finally {
        held();
      }
      expect((await Promise.all(queued)).map((r) => r.status)).toEqual(Array(QUEUE_DEPTH).fill(200));
    });

    it('drops a waiting request from the queue when its client goes away; it never runs', async () => {
      const before = await send(kind, bot.body(40));
      const aborted = await metricCount(kind.route, '499');
      const held = await serializer.acquireTurn(bot.session);
      try {
        const client = new AbortController();
        const gone = send(kind, bot.body(41), {}, client.signal).catch((err: unknown) => err);
        await until(() => serializer.queueDepth(bot.session) === 1, 'queued');
        client.abort();
        await gone;
        await until(() => serializer.queueDepth(bot.session) === 0, 'left the queue');
      } finally {
        held();
      }
      const after = await send(kind, bot.body(42));
      // The one that left never ran: this one runs right after the one before it.
      expect(bot.ranAt(after.body)).toBe(bot.ranAt(before.body) + 1);
      await until(async () => (await metricCount(kind.route, '499')) === aborted + 1, 'counted as 499');
    });

    it('is counted in the metrics under its route pattern, and access-logged with its request id', async () => {
      const ok = await metricCount(kind.route, '200');
      const bad = await metricCount(kind.route, '400');
      const okId = rid('log');
      const badId = rid('logbad');
      expect((await send(kind, bot.body(50), { 'x-request-id': okId })).status).toBe(200);
      expect((await send(kind, bot.invalid, { 'x-request-id': badId })).status).toBe(400);
      await until(async () => (await metricCount(kind.route, '200')) === ok + 1 && (await metricCount(kind.route, '400')) === bad + 1, 'observed');
      await until(() => accessLines(okId).length === 1 && accessLines(badId).length === 1, 'access lines written');
      expect(accessLines(okId)).toEqual([
        expect.objectContaining({ level: 'debug', msg: 'request completed', request_id: okId, method: 'POST', url: kind.path, status: 200, response_time_ms: expect.any(Number) }),
      ]);
      expect(accessLines(badId)).toEqual([expect.objectContaining({ level: 'info', msg: 'request rejected', request_id: badId, method: 'POST', url: kind.path, status: 400 })]);
    });
  });

  it('answers a per-tick route the same through the front door and through Fastify', async () => {
    const body = { game_state: pluginGameState({ name: 'SameBothWays' }), request_id: 3 };
    const front = await request(`${e.url}/api/v1/decide`, { body, headers: auth });
    const viaFastify = await request(`${e.url}/api/v1/decide?via=fastify`, { body, headers: auth });
    expect(reachedFastify).toEqual(['/api/v1/decide?via=fastify']);
    expect(front.headers.get('content-type')).toBe(viaFastify.headers.get('content-type'));
    const { latency_ms: l1, state_version: v1, ...a } = front.body;
    const { latency_ms: l2, state_version: v2, ...b } = viaFastify.body;
    expect(a).toEqual(b);
    expect([typeof l1, typeof l2, v1, v2]).toEqual(['number', 'number', 1, 2]);
  });

  it('answers errors Fastify raises before any route in the envelope: 404, 414, a malformed URL', async () => {
    expectErrorEnvelope(await request(`${e.url}/api/v1/nothing-here`, { headers: auth }), 404, 'NOT_FOUND');
    const tooLong = await request(`${e.url}/api/v1/state/${'a'.repeat(300)}`, { headers: { ...auth, 'x-request-id': 'contract-414' } });
    expectErrorEnvelope(tooLong, 414, 'URI_TOO_LONG', 'contract-414');
    expect(tooLong.body.error.details).toEqual({ reason: 'FST_ERR_MAX_PARAM_LENGTH' });
    const badUrl = await new Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request(`${e.url}/api/v1/state/%zz`, { headers: auth, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
      });
      req.once('error', reject);
      req.end();
    });
    expectErrorEnvelope(badUrl, 400, 'INVALID_REQUEST');
    expect(badUrl.body.error.details).toEqual({ reason: 'FST_ERR_BAD_URL' });
    await until(() => accessLines('contract-414').length === 1, 'the router’s refusals are access-logged too');
  });

  it.each([
    ['the front door', ''],
    ['Fastify', '?via=fastify'],
  ])('releases a pipelined request queued behind another when the client drops the connection (%s)', async (_way, query) => {
    const stats = e.engine.app.get(RequestStats);
    const sessions = e.engine.app.get(SessionService);
    const slow = await sessions.sessionIdFor({ characterName: `PipeSlow${query.length}` });
    const fast = await sessions.sessionIdFor({ characterName: `PipeFast${query.length}` });
    const held = await serializer.acquireTurn(slow);
    const raw = (name: string) => {
      const text = JSON.stringify({ game_state: pluginGameState({ name }) });
      return `POST /api/v1/decide${query} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: ${auth.authorization}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    const socket = net.connect(Number(new URL(e.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // The first waits for its session's turn; the second (another bot) is decided, but its
      // response is queued behind the first's on this connection.
      socket.write(raw(`PipeSlow${query.length}`) + raw(`PipeFast${query.length}`));
      await until(() => serializer.queueDepth(slow) === 1 && e.engine.app.get(StateService).current(fast) !== undefined, 'one waiting, one answered into the queue');
      // The front door ends the decided one's turn once its answer is final, even queued behind
      // another on its connection; through Fastify the turn waits for the response to close.
      expect(serializer.stats().activeSessions).toBe(query ? 2 : 1);
      socket.destroy();
      await until(() => serializer.queueDepth(slow) === 0, 'the waiting one left the queue');
    } finally {
      socket.destroy();
      held();
    }
    await until(() => serializer.stats().activeSessions === 0 && serializer.inFlight === 0 && stats.inFlight === 0, 'everything released');
  });
});

describe('request pipeline on the other listener, and at shutdown', () => {
  it('serves the compat listener through the same pipeline', async () => {
    const c = await startEngine({ COMPAT_PORT: 'auto', RATE_LIMIT_RPS: '1' });
    try {
      // Together, so the one-per-second bucket cannot refill in between on a slow machine.
      const both = await Promise.all(['CompatA', 'CompatB'].map((name) => request(`${c.compatUrl}/api/v1/decide`, { body: { game_state: pluginGameState({ name }) } })));
      expect(both.map((r) => r.status).sort()).toEqual([200, 429]);
      const limited = both.find((r) => r.status === 429)!;
      expect(limited.body.error.code).toBe('RATE_LIMIT');
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await c.stop();
    }
  });

  it.each([
    ['the front door', ''],
    ['Fastify', '?via=fastify'],
  ])('answers a request in flight when shutdown begins, telling the client to close the connection (%s)', async (_way, query) => {
    const c = await startEngine();
    const serializer = c.engine.app.get(SessionSerializer);
    const session = await c.engine.app.get(SessionService).sessionIdFor({ characterName: 'Drain' });
    const held = await serializer.acquireTurn(session);
    let stopping: Promise<void> | undefined;
    try {
      const inFlight = request(`${c.url}/api/v1/decide${query}`, { body: { game_state: pluginGameState({ name: 'Drain' }) } });
      await until(() => serializer.queueDepth(session) === 1, 'request waiting for its turn');
      stopping = c.stop();
      held();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.headers.get('connection')).toBe('close');
    } finally {
      held();
      await (stopping ?? c.stop());
    }
  });
});

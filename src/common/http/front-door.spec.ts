import { Logger } from '@nestjs/common';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { InvalidRequestError } from '../errors/app.error';
import { until } from '../testing/wait.test-kit';
import { createFrontDoor } from './front-door';
import { RequestPipeline } from './request-pipeline';
import { RequestRun, TurnState } from './request-run';
import { RequestStats } from './request-stats';
import { onResponseDone } from './response-done';
import type { RouteEntry } from './route-table';

/** Header-only requests: a declined one must be left untouched (no listener, nothing read or counted). */
function fakeRequest(over: Partial<{ method: string; url: string; headers: Record<string, string> }> = {}) {
  const on = jest.fn();
  const req = {
    method: over.method ?? 'POST',
    url: over.url ?? '/api/v1/decide',
    headers: over.headers ?? { 'content-type': 'application/json', 'content-length': '20' },
    socket: { remoteAddress: '127.0.0.1', destroyed: false, once: jest.fn() },
    on,
  };
  return { req: req as unknown as IncomingMessage, on };
}

type Handler = (request: { body: unknown; id: string }, reply: { code(n: number): unknown; header(k: string, v: string): unknown; send(p?: unknown): unknown }) => unknown;

function pipelineWith(stats: RequestStats, routes: Array<{ url: string; frontDoor?: boolean; handler: Handler }>, rateLimitPerSecond = 0): RequestPipeline {
  const pipeline = new RequestPipeline({ stats, logger: pino({ level: 'silent' }), rateLimitPerSecond });
  for (const r of routes) {
    const entry: RouteEntry = { method: 'POST', url: r.url, config: { frontDoor: r.frontDoor ?? true }, handler: r.handler as RouteEntry['handler'] };
    pipeline.routes.add(entry);
  }
  return pipeline;
}

describe('front door', () => {
  let stats: RequestStats;
  const res = { once: jest.fn(), closed: false, setHeader: jest.fn() } as unknown as ServerResponse;

  beforeEach(() => {
    stats = new RequestStats();
  });

  const door = (rateLimitPerSecond = 0) =>
    createFrontDoor({
      pipeline: pipelineWith(stats, [{ url: '/api/v1/decide', handler: jest.fn() }, { url: '/api/v1/other', frontDoor: false, handler: jest.fn() }], rateLimitPerSecond),
      readJson: (b) => JSON.parse(b.toString()) as unknown,
      maxBodyBytes: 100,
      server: undefined,
    });

  it('takes an @FrontDoor route with a JSON body of known length, observed like any request', () => {
    const { req, on } = fakeRequest();
    expect(door()(req, res)).toBe(true);
    expect(stats.inFlight).toBe(1);
    expect(on).toHaveBeenCalledWith('data', expect.any(Function));
  });

  it.each([
    ['a route not marked @FrontDoor', { url: '/api/v1/other' }],
    ['another path', { url: '/api/v1/decide/' }],
    ['a query string', { url: '/api/v1/decide?x=1' }],
    ['another method', { method: 'PUT' }],
    ['no length', { headers: { 'content-type': 'application/json' } }],
    ['a length beyond the limit', { headers: { 'content-type': 'application/json', 'content-length': '101' } }],
    ['a malformed length', { headers: { 'content-type': 'application/json', 'content-length': '1e2' } }],
    ['chunked', { headers: { 'content-type': 'application/json', 'content-length': '20', 'transfer-encoding': 'chunked' } }],
    ['expect', { headers: { 'content-type': 'application/json', 'content-length': '20', expect: '100-continue' } }],
    ['another type', { headers: { 'content-type': 'text/plain', 'content-length': '20' } }],
  ] as const)('leaves a request to Fastify untouched: %s', (_what, over) => {
    const { req, on } = fakeRequest(over);
    expect(door()(req, res)).toBe(false);
    expect(on).not.toHaveBeenCalled();
    expect(stats.inFlight).toBe(0);
  });

  it('refuses only exact paths: a route with a parameter cannot be a front-door route', () => {
    const pipeline = pipelineWith(stats, [{ url: '/api/v1/state/:sessionId', handler: jest.fn() }]);
    expect(() => createFrontDoor({ pipeline, readJson: (b) => JSON.parse(b.toString()) as unknown, maxBodyBytes: 100, server: undefined })).toThrow(/only exact paths/);
  });
});

describe('front door over a real socket', () => {
  let stats: RequestStats;
  let pipeline: RequestPipeline;
  let srv: http.Server;
  let url: string;
  const handlers = new Map<string, Handler>();
  const paths = ['/ok', '/throws', '/rejects', '/text', '/circular', '/unanswerable', '/accepted', '/bad-header'];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    stats = new RequestStats();
    pipeline = pipelineWith(
      stats,
      paths.map((path) => ({ url: path, handler: (req, reply) => handlers.get(path)!(req, reply) })),
    );
    const door = createFrontDoor({ pipeline, readJson: (b) => JSON.parse(b.toString()) as unknown, maxBodyBytes: 1000, server: undefined });
    srv = http.createServer((req, res) => {
      if (!door(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"a":1}' });

  it('hands the request to the pipeline: the route runs in the request’s run, with its body and request id', async () => {
    const seen: unknown[] = [];
    handlers.set('/ok', (req, reply) => {
      seen.push([req.body, req.id, RequestRun.of(req)?.requestId]);
      reply.send({ fine: true });
    });
    const res = await post('/ok', { 'x-request-id': 'door-1' });
    expect([res.status, res.headers.get('x-request-id'), await res.json()]).toEqual([200, 'door-1', { fine: true }]);
    expect(seen).toEqual([[{ a: 1 }, 'door-1', 'door-1']]);
  });

  it('answers a route that throws or rejects with the 500 envelope, counted as a server error', async () => {
    handlers.set('/throws', () => {
      throw new TypeError('secret detail');
    });
    handlers.set('/rejects', () => Promise.reject(new TypeError('secret detail')));
    for (const path of ['/throws', '/rejects']) {
      const errors = stats.errorsTotal;
      const res = await post(path);
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string }; metadata: { request_id: string } };
      expect(body.error).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal server error' });
      expect(body.metadata.request_id).toBe(res.headers.get('x-request-id'));
      await until(() => stats.errorsTotal === errors + 1);
    }
  });

  it('sends what the route chose: status, headers, and Fastify’s type for the payload', async () => {
    handlers.set('/accepted', (_req, reply) => {
      reply.code(202);
      reply.header('ETag', '"7"');
      reply.send({ queued: true });
    });
    const accepted = await post('/accepted');
    expect([accepted.status, accepted.headers.get('etag'), accepted.headers.get('content-type')]).toEqual([202, '"7"', 'application/json; charset=utf-8']);
    expect(await accepted.json()).toEqual({ queued: true });

    handlers.set('/text', (_req, reply) => reply.send('plain'));
    const text = await post('/text');
    expect([text.headers.get('content-type'), await text.text()]).toEqual(['text/plain; charset=utf-8', 'plain']);
  });

  it('turns a payload it cannot serialize into a 500, and an error it cannot answer into a reset — never a hung request', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    handlers.set('/circular', async (_req, reply) => reply.send(circular));
    expect((await post('/circular')).status).toBe(500);

    // An error whose details cannot be serialized: the envelope cannot be written.
    handlers.set('/unanswerable', () => Promise.reject(new InvalidRequestError('bad', circular)));
    await expect(post('/unanswerable')).rejects.toThrow();
    await until(() => stats.inFlight === 0, 'every request finished');
  });

  it('a header value Node refuses fails the send itself, not the batch later: the request ends in a reset, never hangs', async () => {
    handlers.set('/bad-header', (_req, reply) => {
      reply.header('x-note', 'two\nlines');
      reply.send({ fine: true });
    });
    // The error stage keeps the route's headers (as Fastify does), so its envelope cannot be
    // written either: the connection is reset.
    await expect(post('/bad-header')).rejects.toThrow();
    await until(() => stats.inFlight === 0, 'the request finished');
  });

  it('ends the session turn once the answer is handed to the batch, before its bytes are written', async () => {
    const seen: boolean[] = [];
    handlers.set('/ok', holdTurnThenAnswer(seen));
    expect((await post('/ok')).status).toBe(200);
    expect(seen).toEqual([false]);
  });

  it('answers concurrent requests through the batch, each with its own payload', async () => {
    handlers.set('/ok', (req, reply) => reply.send({ echo: (req.body as { a: number }).a }));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${url}/ok`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: i }) }).then((r) => r.json())),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: i })));
  });
});

/**
 * A route that holds a session turn the way the session guard does (closed with its response),
 * recording when the turn ends whether its response was already ended.
 */
function holdTurnThenAnswer(seen: boolean[]): Handler {
  return (req, reply) => {
    const raw = (reply as unknown as { raw: ServerResponse }).raw;
    const turn = Object.assign(() => void seen.push(raw.writableEnded), { sessionId: 's', run: <T>(fn: () => T) => fn(), holdFor: () => undefined });
    const state = new TurnState(turn);
    onResponseDone((req as unknown as { raw: IncomingMessage }).raw, raw, () => state.closed());
    RequestRun.of(req)!.hold(state);
    reply.send({ fine: true });
  };
}

describe('front door without the batch (HTTP_BATCH_RESPONSES=0)', () => {
  it('ends each answer at once, and the session turn only once the response is closed', async () => {
    const seen: boolean[] = [];
    const pipeline = pipelineWith(new RequestStats(), [{ url: '/ok', handler: holdTurnThenAnswer(seen) }]);
    const door = createFrontDoor({ pipeline, readJson: (b) => JSON.parse(b.toString()) as unknown, maxBodyBytes: 1000, server: undefined, batchResponses: false });
    const srv = http.createServer((req, res) => {
      if (!door(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/ok`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect([res.status, await res.json()]).toEqual([200, { fine: true }]);
      await until(() => seen.length === 1, 'the turn ended');
      expect(seen).toEqual([true]);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('front door admission', () => {
  it('refuses what the pipeline does not admit, in the envelope itself (rate limit, draining)', async () => {
    const stats = new RequestStats();
    const pipeline = pipelineWith(stats, [{ url: '/ok', handler: (_req, reply) => reply.send({ fine: true }) }], 3);
    const door = createFrontDoor({ pipeline, readJson: (b) => JSON.parse(b.toString()) as unknown, maxBodyBytes: 1000, server: undefined });
    const srv = http.createServer((req, res) => {
      if (!door(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const post = () =>
      fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/ok`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    try {
      // A bucket of 3: the 4th of a quick burst is refused (a slow machine refills at most a few).
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await post());
      const limited = answers.find((a) => a.status === 429)!;
      expect(limited).toBeDefined();
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMIT');
      pipeline.startDraining();
      const drained = await post();
      expect([drained.status, drained.headers.get('connection')]).toEqual([503, 'close']);
      expect(((await drained.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

import { Logger } from '@nestjs/common';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { InvalidRequestError } from '../errors/app.error';
import { until } from '../testing/wait.test-kit';
import { digest } from './auth.guard';
import { createFrontDoor, type FrontDoorOptions } from './front-door';
import type { LeanRouteEntry } from './lean-route';
import { RateLimiter } from './rate-limiter';
import { RequestStats } from './request-stats';

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

/** Front-door options for tests: JSON.parse for the body, no token, no rate limit, silent logs. */
function doorOptions(routes: LeanRouteEntry[], stats: RequestStats, over: Partial<FrontDoorOptions> = {}): FrontDoorOptions {
  return {
    routes: new Map(routes.map((r) => [`${r.method} ${r.url}`, r])),
    readJson: (b) => JSON.parse(b.toString()) as unknown,
    maxBodyBytes: 100,
    tokenDigest: undefined,
    limiter: new RateLimiter(0),
    stats,
    logger: pino({ level: 'silent' }),
    isDraining: () => false,
    ...over,
  };
}

describe('front door', () => {
  let draining: boolean;
  let stats: RequestStats;
  const handler = jest.fn();
  const entry: LeanRouteEntry = { method: 'POST', url: '/api/v1/decide', handler, isPublic: false };
  const res = { once: jest.fn(), closed: false } as unknown as ServerResponse;
  const options = (over: Partial<FrontDoorOptions> = {}): FrontDoorOptions => doorOptions([entry], stats, { isDraining: () => draining, ...over });

  beforeEach(() => {
    draining = false;
    stats = new RequestStats();
  });
  afterEach(() => stats.onApplicationShutdown());

  it('takes the exact route with a JSON body of known length', () => {
    const door = createFrontDoor(options());
    const { req, on } = fakeRequest();
    expect(door(req, res)).toBe(true);
    expect(stats.inFlight).toBe(1);
    expect(on).toHaveBeenCalledWith('data', expect.any(Function));
  });

  it.each([
    ['draining', {}, () => (draining = true)],
    ['another path', { url: '/api/v1/decide/' }],
    ['another method', { method: 'PUT' }],
    ['no length', { headers: { 'content-type': 'application/json' } }],
    ['a length beyond the limit', { headers: { 'content-type': 'application/json', 'content-length': '101' } }],
    ['a malformed length', { headers: { 'content-type': 'application/json', 'content-length': '1e2' } }],
    ['chunked', { headers: { 'content-type': 'application/json', 'content-length': '20', 'transfer-encoding': 'chunked' } }],
    ['expect', { headers: { 'content-type': 'application/json', 'content-length': '20', expect: '100-continue' } }],
    ['another type', { headers: { 'content-type': 'text/plain', 'content-length': '20' } }],
  ] as const)('leaves a request to Fastify untouched: %s', (_what, over, arrange?: () => void) => {
    arrange?.();
    const door = createFrontDoor(options());
    const { req, on } = fakeRequest(over);
    expect(door(req, res)).toBe(false);
    expect(on).not.toHaveBeenCalled();
    expect(stats.inFlight).toBe(0);
  });

  it('leaves requests without the token, or past the rate limit, for Fastify to refuse', () => {
    const withToken = createFrontDoor(options({ tokenDigest: digest('the-token') }));
    expect(withToken(fakeRequest().req, res)).toBe(false);
    const bearer = { 'content-type': 'application/json', 'content-length': '20' };
    expect(withToken(fakeRequest({ headers: { ...bearer, authorization: 'Bearer wrong' } }).req, res)).toBe(false);
    expect(withToken(fakeRequest({ headers: { ...bearer, authorization: 'Bearer the-token' } }).req, res)).toBe(true);

    const limited = createFrontDoor(options({ limiter: new RateLimiter(1) }));
    expect(limited(fakeRequest().req, res)).toBe(true);
    expect(limited(fakeRequest().req, res)).toBe(false);
    // Taken: the right token and the first request within the limit.
    expect(stats.inFlight).toBe(2);
  });
});

describe('front door over a real socket', () => {
  let stats: RequestStats;
  let srv: http.Server;
  let url: string;
  const handlers = new Map<string, LeanRouteEntry['handler']>();

  beforeAll(async () => {
    Logger.overrideLogger(false);
    stats = new RequestStats();
    const routes = ['/throws', '/text', '/circular', '/unanswerable', '/accepted'].map(
      (path): LeanRouteEntry => ({ method: 'POST', url: path, isPublic: true, handler: (req, reply) => handlers.get(path)!(req, reply) }),
    );
    const door = createFrontDoor(doorOptions(routes, stats, { maxBodyBytes: 1000 }));
    srv = http.createServer((req, res) => {
      if (!door(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    stats.onApplicationShutdown();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  const post = (path: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

  it('answers a handler failure with the 500 envelope and counts it as a server error', async () => {
    handlers.set('/throws', () => Promise.reject(new TypeError('secret detail')));
    const errors = stats.errorsTotal;
    const res = await post('/throws');
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string }; metadata: { request_id: string } };
    expect(body.error).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal server error' });
    expect(body.metadata.request_id).toBe(res.headers.get('x-request-id'));
    await until(() => stats.errorsTotal === errors + 1);
  });

  it('sends what the handler chose: status, headers, and Fastify’s type for the payload', async () => {
    handlers.set('/accepted', async (_req, reply) => {
      reply.code(202);
      reply.header('ETag', '"7"');
      return { queued: true };
    });
    const accepted = await post('/accepted');
    expect([accepted.status, accepted.headers.get('etag'), accepted.headers.get('content-type')]).toEqual([202, '"7"', 'application/json; charset=utf-8']);
    expect(await accepted.json()).toEqual({ queued: true });

    handlers.set('/text', async () => 'plain');
    const text = await post('/text');
    expect([text.headers.get('content-type'), await text.text()]).toEqual(['text/plain; charset=utf-8', 'plain']);
  });

  it('turns a result it cannot serialize into a 500, and an error it cannot answer into a reset — never a hung request', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    handlers.set('/circular', async () => circular);
    expect((await post('/circular')).status).toBe(500);

    // An error whose details cannot be serialized: the envelope cannot be written.
    handlers.set('/unanswerable', () => Promise.reject(new InvalidRequestError('bad', circular)));
    await expect(post('/unanswerable')).rejects.toThrow();
    await until(() => stats.inFlight === 0, 'every request finished');
  });
});

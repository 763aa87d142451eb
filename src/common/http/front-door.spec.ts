import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
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
    socket: { remoteAddress: '127.0.0.1' },
    on,
  };
  return { req: req as unknown as IncomingMessage, on };
}

describe('front door', () => {
  let draining: boolean;
  let stats: RequestStats;
  const handler = jest.fn();
  const entry: LeanRouteEntry = { method: 'POST', url: '/api/v1/decide', handler, isPublic: false };
  const res = { once: jest.fn() } as unknown as ServerResponse;
  const options = (over: Partial<FrontDoorOptions> = {}): FrontDoorOptions => ({
    routes: new Map([['POST /api/v1/decide', entry]]),
    readJson: (b) => JSON.parse(b.toString()) as unknown,
    maxBodyBytes: 100,
    tokenDigest: undefined,
    limiter: new RateLimiter(0),
    stats,
    logger: pino({ level: 'silent' }),
    isDraining: () => draining,
    ...over,
  });

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
    const withToken = createFrontDoor(options({ tokenDigest: Buffer.alloc(32, 1) }));
    expect(withToken(fakeRequest().req, res)).toBe(false);

    const limited = createFrontDoor(options({ limiter: new RateLimiter(1) }));
    expect(limited(fakeRequest().req, res)).toBe(true);
    expect(limited(fakeRequest().req, res)).toBe(false);
    expect(stats.inFlight).toBe(1);
  });
});

import { LockAbortedError, LockManager, LockOrder, LockOrderViolationError, LockTimeoutError, withLock } from '../concurrency';
import { HttpConnectionPool, UpstreamAbortedError, UpstreamError, UpstreamTimeoutError } from './http-pool';
import { type HttpStub, replyJson, startHttpStub, type StubRequest } from './http-stub.test-kit';
import { until } from '../testing/wait.test-kit';

describe('HttpConnectionPool (bounded outbound pool, NETWORK level)', () => {
  let stub: HttpStub;
  let locks: LockManager;
  const pools: HttpConnectionPool[] = [];
  const pool = (name: string, max: number, acquireTimeoutMs = 1_000, requestTimeoutMs = 2_000) => {
    const p = new HttpConnectionPool(locks, { name, maxConnections: max, acquireTimeoutMs, requestTimeoutMs });
    pools.push(p);
    return p;
  };

  beforeEach(async () => {
    locks = new LockManager();
    stub = await startHttpStub((r) => replyJson(r.res, 200, { echo: r.body, url: r.url }));
  });
  afterEach(async () => {
    for (const p of pools.splice(0)) p.close();
    await stub.close();
  });

  it('sends requests over reused keep-alive connections and reads JSON', async () => {
    const p = pool('reuse', 2);
    for (let i = 0; i < 5; i++) {
      const res = await p.request(`${stub.url}/x?i=${i}`, { method: 'POST', body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ echo: JSON.stringify({ i }), url: `/x?i=${i}` });
    }
    expect(stub.connections).toBe(1);
    expect(p.stats()).toMatchObject({ in_use: 0, waiting: 0, requests_total: 5, failures_total: 0 });
  });

  it('never has more than maxConnections requests in flight; the rest queue FIFO and then run', async () => {
    const held: StubRequest[] = [];
    let maxSeen = 0;
    stub.handle((r) => {
      held.push(r);
      maxSeen = Math.max(maxSeen, held.length);
    });
    const p = pool('bounded', 2, 5_000, 5_000);
    const all = Array.from({ length: 6 }, (_, i) => p.request(`${stub.url}/r${i}`));
    await until(() => held.length === 2, 'two requests at the server');
    expect(p.stats()).toMatchObject({ in_use: 2, waiting: 4 });
    // Answer one at a time: each answer lets exactly one more request through.
    const order: string[] = [];
    while (order.length < 6) {
      await until(() => held.length > 0, 'a request at the server');
      const r = held.shift()!;
      order.push(r.url);
      replyJson(r.res, 200, { ok: true });
    }
    const results = await Promise.all(all);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(maxSeen).toBe(2);
    expect(order).toEqual(['/r0', '/r1', '/r2', '/r3', '/r4', '/r5']);
    expect(p.stats()).toMatchObject({ in_use: 0, waiting: 0 });
  });

  it('a slow upstream fails with UpstreamTimeoutError within the request timeout and frees its connection', async () => {
    stub.handle(() => undefined); // never answers
    const p = pool('slow', 1, 1_000, 150);
    const started = Date.now();
    await expect(p.request(`${stub.url}/slow`)).rejects.toBeInstanceOf(UpstreamTimeoutError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_000);
    expect(p.stats()).toMatchObject({ in_use: 0, request_timeouts_total: 1, failures_total: 1 });
    stub.handle((r) => replyJson(r.res, 200, { back: true }));
    expect((await p.request(`${stub.url}/again`)).json()).toEqual({ back: true });
  });

  it('an exhausted pool fails the next caller with LockTimeoutError after the acquire timeout (bounded), leaving no waiter behind', async () => {
    const hanging: StubRequest[] = [];
    stub.handle((r) => hanging.push(r));
    const p = pool('exhausted', 1, 100, 5_000);
    const first = p.request(`${stub.url}/hog`);
    await until(() => hanging.length === 1, 'the first request at the server');
    const started = Date.now();
    const err = await p.request(`${stub.url}/second`).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).lock).toBe('network.exhausted');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    expect(p.stats()).toMatchObject({ in_use: 1, waiting: 0, acquire_timeouts_total: 1 });
    expect(hanging).toHaveLength(1); // the second request never reached the server
    replyJson(hanging[0].res, 200, { done: 1 });
    expect((await first).status).toBe(200);
  });

  it('acquireTimeoutMs 0 means "only if a connection is free now"', async () => {
    const hanging: StubRequest[] = [];
    stub.handle((r) => hanging.push(r));
    const p = pool('trylock', 1, 0, 5_000);
    const first = p.request(`${stub.url}/a`);
    await until(() => hanging.length === 1, 'the first request');
    await expect(p.request(`${stub.url}/b`)).rejects.toBeInstanceOf(LockTimeoutError);
    replyJson(hanging[0].res, 200, {});
    await expect(first).resolves.toMatchObject({ status: 200 });
  });

  it('an AbortSignal cancels a queued acquisition and an in-flight request; both free everything', async () => {
    const hanging: StubRequest[] = [];
    stub.handle((r) => hanging.push(r));
    const p = pool('abort', 1, 5_000, 5_000);
    const inFlight = new AbortController();
    const first = p.request(`${stub.url}/first`, { signal: inFlight.signal });
    await until(() => hanging.length === 1, 'the first request');
    const queued = new AbortController();
    const second = p.request(`${stub.url}/second`, { signal: queued.signal });
    await until(() => p.stats().waiting === 1, 'the second caller to queue');
    queued.abort();
    await expect(second).rejects.toBeInstanceOf(LockAbortedError);
    inFlight.abort();
    await expect(first).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect(p.stats()).toMatchObject({ in_use: 0, waiting: 0 });
  });

  it('an HTTP error status resolves (the caller decides); an unreachable host and a non-JSON body reject with UpstreamError', async () => {
    stub.handle((r) => {
      r.res.writeHead(500);
      r.res.end('boom');
    });
    const p = pool('errors', 1);
    const res = await p.request(`${stub.url}/fail`);
    expect(res.status).toBe(500);
    expect(res.text()).toBe('boom');
    expect(() => res.json()).toThrow(UpstreamError);
    const closed = await startHttpStub();
    const deadUrl = closed.url;
    await closed.close();
    await expect(p.request(`${deadUrl}/nobody`)).rejects.toBeInstanceOf(UpstreamError);
    expect(p.stats().in_use).toBe(0);
  });

  it('sits at the NETWORK level: allowed under DATABASE, a violation under another NETWORK-level lock', async () => {
    const p = pool('levels', 1);
    const db = locks.resolve('database');
    await expect(withLock(db, () => p.request(`${stub.url}/ok`))).resolves.toMatchObject({ status: 200 });
    const other = locks.mutex('network.other', LockOrder.NETWORK);
    await expect(withLock(other, () => p.request(`${stub.url}/nested`))).rejects.toBeInstanceOf(LockOrderViolationError);
  });

  it('a closed pool refuses new requests', async () => {
    const p = pool('closed', 1);
    p.close();
    await expect(p.request(`${stub.url}/x`)).rejects.toBeInstanceOf(UpstreamError);
  });
});

import { SessionSerializer } from '../src/common/concurrency';
import { request, startEngine, type RunningEngine } from './support/engine';
import { numberArrivals, ProbeModule, ProbeRecorder } from './support/probe.module';
import { until } from '../src/common/testing/wait.test-kit';

describe('per-session request serialization over real HTTP', () => {
  let e: RunningEngine;
  let recorder: ProbeRecorder;
  let serializer: SessionSerializer;
  const serial = (body: Record<string, unknown>, init: { signal?: AbortSignal } = {}) =>
    request(`${e.url}/test/serial`, { body, ...init });

  beforeAll(async () => {
    e = await startEngine({ SESSION_QUEUE_DEPTH: '1000', MAX_IN_FLIGHT: '100' }, { extraImports: [ProbeModule], beforeInit: numberArrivals });
    recorder = e.engine.app.get(ProbeRecorder);
    serializer = e.engine.app.get(SessionSerializer);
  });
  afterAll(() => e.stop());

  it('300 concurrent requests of one session run one at a time in arrival order; another session is not held up', async () => {
    const a = 'session-a';
    // The first request holds the session's turn until the test opens its gate, so the other
    // 299 deterministically queue behind it, whatever the machine's speed.
    const first = serial({ session_id: a, seq: 0, gate: 'a-gate' });
    await until(() => recorder.started.includes(`${a}:0`), 'the first request to start');
    const rest = Array.from({ length: 299 }, (_, i) => serial({ session_id: a, seq: i + 1, delay_ms: 1 }));
    await until(() => serializer.queueDepth(a) === 299, 'all of session A to queue', 30_000);
    // Session B is served while all of A waits.
    const b = await serial({ session_id: 'session-b', seq: 0 });
    expect(b.status).toBe(200);
    expect(recorder.records.filter((r) => r.session === a)).toHaveLength(0);
    expect(serializer.queueDepth(a)).toBe(299);
    recorder.open('a-gate');

    const results = await Promise.all([first, ...rest]);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const runs = recorder.records.filter((r) => r.session === a);
    expect(runs).toHaveLength(300);
    // No overlap: every handler saw no other handler of its session running, and each one
    // started after the previous one ended.
    expect(runs.every((r) => r.overlapping === 0)).toBe(true);
    const byStart = [...runs].sort((x, y) => x.startedAt - y.startedAt);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i].startedAt).toBeGreaterThanOrEqual(byStart[i - 1].endedAt);
    // Arrival order: the order of execution is the order in which the server had the requests.
    const arrivals = byStart.map((r) => r.arrival);
    expect(arrivals).toEqual([...arrivals].sort((x, y) => x - y));
  });

  it('GET /api/v1/admin/locks reports contention, holders, waiters and session queues', async () => {
    const gate = 'admin-gate';
    const holder = serial({ session_id: 'admin-s', gate, seq: 1 });
    await until(() => recorder.started.includes('admin-s:1'), 'holder to start');
    const waiter = serial({ session_id: 'admin-s', seq: 2 });
    await until(() => serializer.queueDepth('admin-s') === 1, 'waiter to queue');
    const report = (await request(`${e.url}/api/v1/admin/locks`)).body.data;
    recorder.open(gate);
    await Promise.all([holder, waiter]);
    const sessionRow = report.contention.find((r: { lock: string }) => r.lock === 'session');
    expect(sessionRow.acquisitions).toBeGreaterThanOrEqual(1);
    expect(report.held.some((h: { lock: string }) => h.lock.startsWith('session'))).toBe(true);
    expect(report.waiting.some((w: { lock: string }) => w.lock.startsWith('session'))).toBe(true);
    expect(report.session_queues.queueDepth['admin-s']).toBe(1);
    // Once the waiter got its turn, the profiler counts it as a contended acquisition.
    const after = (await request(`${e.url}/api/v1/admin/locks`)).body.data;
    expect(after.contention.find((r: { lock: string }) => r.lock === 'session').contentions).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(report.deadlocks)).toBe(true);
    expect(report).toHaveProperty('orderViolations');
  });

  it('different sessions do run concurrently', async () => {
    const gate = 'concurrent-gate';
    const first = serial({ session_id: 'c1', gate });
    const second = serial({ session_id: 'c2', gate });
    // Both handlers are inside at once, which only works if sessions do not queue behind each other.
    await until(() => recorder.started.includes('c1:') && recorder.started.includes('c2:'), 'both sessions to start');
    recorder.open(gate);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });
});

describe('session queue limits', () => {
  let e: RunningEngine;
  let recorder: ProbeRecorder;
  let serializer: SessionSerializer;
  const serial = (body: Record<string, unknown>, init: { signal?: AbortSignal } = {}) =>
    request(`${e.url}/test/serial`, { body, ...init });

  beforeAll(async () => {
    e = await startEngine({ SESSION_QUEUE_DEPTH: '5', REQUEST_TIMEOUT_MS: '400' }, { extraImports: [ProbeModule] });
    recorder = e.engine.app.get(ProbeRecorder);
    serializer = e.engine.app.get(SessionSerializer);
  });
  afterAll(() => e.stop());

  it('a full session queue answers 429 QUEUE_FULL at once', async () => {
    const s = 'full';
    const holder = serial({ session_id: s, gate: 'full-gate' });
    await until(() => recorder.started.includes('full:'), 'holder to start');
    const queued = Array.from({ length: 5 }, () => serial({ session_id: s }));
    await until(() => serializer.queueDepth(s) === 5, 'five queued');
    const overflow = await serial({ session_id: s });
    expect(overflow.status).toBe(429);
    expect(overflow.body.error.code).toBe('QUEUE_FULL');
    recorder.open('full-gate');
    expect((await holder).status).toBe(200);
    // The queued requests either ran or timed out waiting; none was lost or answered 5xx other than 503.
    for (const r of await Promise.all(queued)) expect([200, 503]).toContain(r.status);
  });

  it('a request waiting past REQUEST_TIMEOUT_MS gets 503 LOCK_TIMEOUT and never runs later', async () => {
    const s = 'slow';
    const holder = serial({ session_id: s, gate: 'slow-gate', seq: 1 });
    await until(() => recorder.started.includes('slow:1'), 'holder to start');
    const waiter = await serial({ session_id: s, seq: 2 });
    expect(waiter.status).toBe(503);
    expect(waiter.body.error.code).toBe('LOCK_TIMEOUT');
    expect(serializer.queueDepth(s)).toBe(0);
    recorder.open('slow-gate');
    expect((await holder).status).toBe(200);
    const after = await serial({ session_id: s, seq: 3 });
    expect(after.status).toBe(200);
    expect(recorder.started).not.toContain('slow:2');
  });

  it('an aborted waiting client leaves the queue, and an aborted holder frees the turn when its handler ends', async () => {
    const s = 'abort';
    const holderAbort = new AbortController();
    const holder = serial({ session_id: s, gate: 'abort-gate', seq: 1 }, { signal: holderAbort.signal });
    await until(() => recorder.started.includes('abort:1'), 'holder to start');
    const waiterAbort = new AbortController();
    const waiter = serial({ session_id: s, seq: 2 }, { signal: waiterAbort.signal });
    await until(() => serializer.queueDepth(s) === 1, 'waiter to queue');
    waiterAbort.abort();
    await expect(waiter).rejects.toThrow();
    await until(() => serializer.queueDepth(s) === 0, 'aborted waiter to leave the queue');

    holderAbort.abort();
    await expect(holder).rejects.toThrow();
    recorder.open('abort-gate');
    const next = await serial({ session_id: s, seq: 3 });
    expect(next.status).toBe(200);
    expect(recorder.started).not.toContain('abort:2');
    const stats = serializer.stats();
    expect(stats.inFlight).toBe(0);
  });
});

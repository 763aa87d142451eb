import * as http from 'node:http';
import { SessionSerializer } from '../src/common/concurrency';
import { until } from '../src/common/testing/wait.test-kit';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

const BURST = 400;
/**
 * The bound for a read during a burst. Not a benchmark: a read that queued behind the
 * writers would wait for the session's turn — here held by the test for as long as it likes,
 * so such a read would not answer at all — while a read that does not queue costs the engine
 * well under a millisecond. 50 ms leaves a loaded shared machine plenty of slack and still
 * tells the two apart.
 */
const READ_BOUND_MS = 50;
/**
 * While a burst drains, how many writers may finish during one read. Each handover of the turn
 * gives the event loop one turn for other I/O (the read's), so a read that does not queue sees
 * a writer or two go by; one that queued would see every writer ahead of it (hundreds) — on a
 * fast machine or a slow one alike, which is why this, not a time, is asserted there.
 */
const HANDOVERS_PER_READ = 8;

/** GET /state/:id over its own kept-alive connection, timed from sending to the whole answer. */
function reader(url: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const read = () =>
    new Promise<{ ms: number; status: number; version: number }>((resolve, reject) => {
      const started = performance.now();
      http
        .get(url, { agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, version: (JSON.parse(text) as { data: { version: number } }).data.version }));
        })
        .once('error', reject);
    });
  return { read, close: () => agent.destroy() };
}

/**
 * Reads never wait (docs/architecture.md §3.2, §9.1): GET /state/:sessionId answers from the published
 * copy-on-write snapshot, without the session's turn or its STATE write lock, however many
 * updates of the session are queued.
 */
describe('published reads during a burst of updates', () => {
  let e: RunningEngine;
  let serializer: SessionSerializer;
  let sid: string;
  let reads: ReturnType<typeof reader>;

  const update = (i: number) =>
    request(`${e.url}/api/v1/state${i % 2 ? '?via=fastify' : ''}`, { body: { session_id: sid, game_state: pluginGameState({ name: 'Reader', hp: 100 + i }) } });

  /** Sends the burst and waits until all of it is queued for the session's turn, which the test holds meanwhile. */
  async function queueBurst(): Promise<{ writers: Array<Promise<{ status: number }>>; release: () => void }> {
    const held = await serializer.acquireTurn(sid);
    try {
      const writers = Array.from({ length: BURST }, (_, i) => update(i));
      await until(() => serializer.queueDepth(sid) === BURST, 'the whole burst queued', 30_000);
      return { writers, release: held };
    } catch (err) {
      held();
      throw err;
    }
  }

  beforeAll(async () => {
    e = await startEngine({ SESSION_QUEUE_DEPTH: '1000', REQUEST_TIMEOUT_MS: '60000' });
    serializer = e.engine.app.get(SessionSerializer);
    const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'reads', client_version: '1' } });
    sid = hs.body.data.session_id as string;
    expect((await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ name: 'Reader' }) } })).status).toBe(200);
    reads = reader(`${e.url}/api/v1/state/${sid}`);
    await reads.read();
  });
  afterAll(async () => {
    reads?.close();
    await e?.stop();
  });

  it(`answer within ${READ_BOUND_MS} ms while ${BURST} updates of the session wait for its turn`, async () => {
    const start = (await reads.read()).version;
    const { writers, release } = await queueBurst();
    try {
      for (let i = 0; i < 5; i++) {
        const read = await reads.read();
        expect([read.status, read.version]).toEqual([200, start]);
        expect(read.ms).toBeLessThan(READ_BOUND_MS);
        // Answered while every writer still waits: the read never queued behind them.
        expect(serializer.queueDepth(sid)).toBe(BURST);
      }
    } finally {
      release();
    }
    expect((await Promise.all(writers)).every((w) => w.status === 200)).toBe(true);
    expect((await reads.read()).version).toBe(start + BURST);
  });

  it(`answer while a burst of ${BURST} queued updates drains, never waiting for the writers ahead`, async () => {
    const start = (await reads.read()).version;
    const { writers, release } = await queueBurst();
    release();
    const seen: Array<{ queuedBefore: number; queuedAfter: number; version: number }> = [];
    while (serializer.queueDepth(sid) > 0) {
      const queuedBefore = serializer.queueDepth(sid);
      const read = await reads.read();
      expect(read.status).toBe(200);
      seen.push({ queuedBefore, queuedAfter: serializer.queueDepth(sid), version: read.version });
    }
    expect((await Promise.all(writers)).every((w) => w.status === 200)).toBe(true);
    // Many reads during the drain, each answered after at most a few writers went by (a queued
    // one would have waited for all those queued before it), each seeing a published version
    // (never a half-applied one), in order.
    expect(seen.length).toBeGreaterThan(BURST / (2 * HANDOVERS_PER_READ));
    for (const r of seen) expect(r.queuedBefore - r.queuedAfter).toBeLessThanOrEqual(HANDOVERS_PER_READ);
    const versions = seen.map((r) => r.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.every((v) => v >= start && v <= start + BURST)).toBe(true);
    expect((await reads.read()).version).toBe(start + BURST);
  });
});

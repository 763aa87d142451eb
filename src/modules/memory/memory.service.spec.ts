import { Logger } from '@nestjs/common';
import { LockName } from '../../common/concurrency';
import { flushMicrotasks } from '../../common/concurrency/concurrency.test-kit';
import { SessionNotFoundError } from '../session';
import type { EmbeddingInput, EmbeddingProvider } from './embedding/embedding-provider';
import { HashingEmbeddingProvider } from './embedding/hashing-embedding.provider';
import { EventTooLargeError, MemoryFullError } from './memory.errors';
import { ACCESS_SLICE_ROWS, type JsonObject, type MemoryService, type RetrieveResult } from './memory.service';
import { createStandaloneMemory, type StandaloneMemory } from './memory.test-kit';

const S1 = 'session-1';
const S2 = 'session-2';
const DAY = 24 * 3_600_000;

/** A distinct event per n (its words are unique, so no two are near-duplicates). */
function event(n: number, type = 'note'): JsonObject {
  return { type, subject: `subject${n}`, situation: `observation alpha${n} beta${n * 7} gamma${n % 13}`, location: { map: `map${n % 17}` } };
}

function dupGroup(g: number): JsonObject {
  return { type: 'monster_kill', actors: [`Monster${g}`], location: { map: `field${g}`, x: 100 + g, y: 50 }, outcome: 'victory', situation: `killed monster${g} again` };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000 && !condition(); i++) await tick();
  if (!condition()) throw new Error(`timed out waiting for: ${what}`);
}

function countRows(m: StandaloneMemory, sessionId: string): number {
  return (m.database.connection.prepare('SELECT COUNT(*) AS n FROM memories WHERE session_id = ?').get(sessionId) as { n: number } | undefined)!.n;
}

function idsInDb(m: StandaloneMemory, sessionId: string): Set<number> {
  return new Set((m.database.connection.prepare('SELECT id FROM memories WHERE session_id = ?').all(sessionId) as Array<{ id: number }>).map((r) => r.id));
}

function isSorted(r: RetrieveResult): boolean {
  return r.memories.every((m, i) => i === 0 || m.similarity <= r.memories[i - 1].similarity);
}

describe('MemoryService', () => {
  let m: StandaloneMemory;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  let memory: MemoryService;

  beforeEach(async () => {
    m = await createStandaloneMemory({ sessions: [S1, S2] });
    memory = m.service;
  });
  afterEach(async () => {
    await m.close();
  });

  it('stores memories and retrieves an identical probe first with similarity ≈ 1, sorted', async () => {
    await memory.storeMany(
      S1,
      Array.from({ length: 200 }, (_, i) => ({ event: event(i), importance: 0.5 })),
    );
    const stored = await memory.store(S1, { event: event(1000, 'death'), importance: 0.9, memory_type: 'emotional' });
    expect(stored).toMatchObject({ embedding_generated: true, embedding_cached: false });
    expect(new Date(stored.stored_at).toISOString()).toBe(stored.stored_at);

    const result = await memory.retrieve(S1, event(1000, 'death'), 10);
    expect(result.memories).toHaveLength(10);
    expect(result.total_memories).toBe(201);
    expect(result.memories[0]).toMatchObject({ memory_id: stored.memory_id, memory_type: 'emotional', importance: 0.9, event: event(1000, 'death'), access_count: 1, merged_count: 1 });
    expect(result.memories[0].similarity).toBeCloseTo(1, 6);
    expect(result.memories[0].timestamp).toBe(stored.stored_at);
    expect(isSorted(result)).toBe(true);
    expect(result.query_time_ms).toBeGreaterThanOrEqual(0);
    // The probe's embedding was cached: storing it again does not compute.
    expect((await memory.store(S1, { event: event(1000, 'death'), importance: 0.1 })).embedding_cached).toBe(true);
    // Another session's memories are separate.
    expect((await memory.retrieve(S2, event(1000, 'death'), 10)).memories).toEqual([]);
  });

  it('refuses unknown sessions, oversized events and clamps top_k', async () => {
    await expect(memory.store('nope', { event: event(1), importance: 0.5 })).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(memory.retrieve('nope', event(1))).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(() => memory.consolidate('nope')).toThrow(SessionNotFoundError);
    const big = { type: 'x', text: 'y'.repeat(16_400) };
    await expect(memory.store(S1, { event: big, importance: 0.5 })).rejects.toBeInstanceOf(EventTooLargeError);
    await expect(memory.retrieve(S1, big)).rejects.toThrow(/current_state is \d+ bytes/);
    await expect(memory.storeMany(S1, [{ event: event(1), importance: 0.5 }, { event: big, importance: 0.5 }])).rejects.toThrow(/memories\[1\]\.event/);
    expect(countRows(m, S1)).toBe(0);
    await memory.storeMany(S1, Array.from({ length: 150 }, (_, i) => ({ event: event(i), importance: 0.5 })));
    expect((await memory.retrieve(S1, event(3), 1000)).memories).toHaveLength(100);
    expect((await memory.retrieve(S1, event(3), 0)).memories).toHaveLength(1);
  });

  it('stores a batch all or none, keeping the index equal to the table', async () => {
    await memory.storeMany(S1, [{ event: event(1), importance: 0.5 }]);
    // The CHECK constraint fails the third row: the transaction rolls back, the index is untouched.
    // Matched by message, not with toThrow: under jest, better-sqlite3's native addon may build its
    // SqliteError in another test file's realm, where `instanceof Error` is false.
    await expect(memory.storeMany(S1, [{ event: event(2), importance: 0.5 }, { event: event(3), importance: 0.5 }, { event: event(4), importance: 2 }])).rejects.toMatchObject({
      message: expect.stringMatching(/CHECK/),
    });
    expect(countRows(m, S1)).toBe(1);
    expect((await memory.retrieve(S1, event(2), 10)).total_memories).toBe(1);
  });

  it('loads the index lazily from the table (after a restart or expiry) with the same answers', async () => {
    await memory.storeMany(S1, Array.from({ length: 300 }, (_, i) => ({ event: event(i), importance: (i % 10) / 10 })));
    const before = await memory.retrieve(S1, event(42), 20);
    await memory.flushAccessCounts();
    const fresh = m.reopen();
    const after = await fresh.retrieve(S1, event(42), 20);
    expect(after.total_memories).toBe(300);
    expect(after.memories.map((x) => [x.memory_id, x.similarity, x.importance])).toEqual(before.memories.map((x) => [x.memory_id, x.similarity, x.importance]));
    expect(after.memories[0].access_count).toBe(2);
    expect(fresh.indexMemoryUsage(S1)!.vectors).toBeGreaterThanOrEqual(300 * 384 * 4);
  });

  it('counts retrievals in memory and writes them in one batch', async () => {
    const [{ memory_id }] = await memory.storeMany(S1, [{ event: event(7), importance: 0.5 }]);
    for (let i = 0; i < 3; i++) await memory.retrieve(S1, event(7), 1);
    const row = () => (m.database.connection.prepare('SELECT access_count, last_accessed_at FROM memories WHERE id = ?').get(memory_id) as { access_count: number; last_accessed_at: number | null } | undefined)!;
    expect(row().access_count).toBe(0);
    expect(memory.stats().pending_access_updates).toBe(1);
    const commits = m.database.service.counters.commits;
    await memory.flushAccessCounts();
    expect(m.database.service.counters.commits).toBe(commits + 1);
    expect(row().access_count).toBe(3);
    expect(row().last_accessed_at).not.toBeNull();
    expect(memory.stats().pending_access_updates).toBe(0);
    expect((await memory.retrieve(S1, event(7), 1)).memories[0].access_count).toBe(4);
  });

  it('writes a large backlog of access counts in transactions of at most ACCESS_SLICE_ROWS updates, every count once', async () => {
    const n = ACCESS_SLICE_ROWS * 2 + 9;
    await memory.storeMany(S1, Array.from({ length: n }, (_, i) => ({ event: event(i), importance: 0.5 })));
    // Every memory retrieved once (top_k is at most 100: many queries).
    for (let i = 0; i < n; i += 50) await memory.retrieve(S1, event(i), 100);
    const pending = memory.stats().pending_access_updates;
    expect(pending).toBeGreaterThan(ACCESS_SLICE_ROWS);
    const perCommit: number[] = [];
    const write = m.database.service.write.bind(m.database.service);
    jest.spyOn(m.database.service, 'write').mockImplementation((body, options) =>
      write(async (tx) => {
        let rows = 0;
        const result = await body({ ...tx, run: (sql: string, params?: unknown[]) => ((rows += 1), tx.run(sql, params)) });
        perCommit.push(rows);
        return result;
      }, options),
    );
    await memory.flushAccessCounts();
    expect(perCommit.reduce((a, b) => a + b, 0)).toBe(pending);
    expect(Math.max(...perCommit)).toBe(ACCESS_SLICE_ROWS);
    expect(memory.stats().pending_access_updates).toBe(0);
    const total = (m.database.connection.prepare('SELECT SUM(access_count) AS n FROM memories').get() as { n: number } | undefined)!.n;
    expect(total).toBe(Math.ceil(n / 50) * 100);
  });

  it('consolidates: merges duplicates (summing counts), keeps distinct ones, decays and prunes old unimportant ones — in the table too', async () => {
    let now = 1_000 * DAY;
    const clocked = await createStandaloneMemory({ sessions: [S1], options: { now: () => now } });
    try {
      const mem = clocked.service;
      const dups = await mem.storeMany(S1, Array.from({ length: 4 }, (_, i) => ({ event: { ...dupGroup(1), timestamp: i }, importance: 0.6 + i / 100 })));
      await mem.storeMany(S1, Array.from({ length: 20 }, (_, i) => ({ event: event(i), importance: 0.8 })));
      const faded = await mem.store(S1, { event: event(99), importance: 0.1 });
      const fading = await mem.store(S1, { event: event(98), importance: 0.4 });
      await mem.retrieve(S1, dupGroup(1), 4); // one access for each duplicate
      now += 14 * DAY; // two half-lives
      const result = await mem.consolidate(S1);
      expect(result).toMatchObject({ session_id: S1, before: 26, after: 22, merged: 3, pruned: 1, decayed: 2, carried_over: 0 });
      const probe = await mem.retrieve(S1, dupGroup(1), 10);
      const twins = probe.memories.filter((x) => x.similarity > 0.9999);
      expect(twins).toHaveLength(1);
      expect(twins[0]).toMatchObject({ memory_id: dups[3].memory_id, importance: 0.63, merged_count: 4, access_count: 5 });
      const ids = idsInDb(clocked, S1);
      expect(ids.size).toBe(22);
      expect(ids.has(faded.memory_id)).toBe(false);
      for (const d of dups.slice(0, 3)) expect(ids.has(d.memory_id)).toBe(false);
      const row = (id: number) => clocked.database.connection.prepare('SELECT importance, merged_count, access_count, decayed_at FROM memories WHERE id = ?').get(id) as Record<string, number>;
      // Retrievals are written in batches: the duplicates' four (not written yet) moved to the kept row.
      expect(row(dups[3].memory_id)).toMatchObject({ merged_count: 4, access_count: 0 });
      expect(row(fading.memory_id).importance).toBeCloseTo(0.1, 6);
      expect(row(fading.memory_id).decayed_at).toBe(now);
      await mem.flushAccessCounts();
      expect(row(dups[3].memory_id).access_count).toBe(5);
    } finally {
      await clocked.close();
    }
  });

  it('carries memories stored while a consolidation is planned into the new index and the table', async () => {
    await memory.storeMany(S1, Array.from({ length: 1500 }, (_, i) => ({ event: event(i), importance: 0.8 })));
    await memory.storeMany(S1, Array.from({ length: 5 }, () => ({ event: dupGroup(1), importance: 0.8 })));
    const consolidation = memory.consolidate(S1);
    // Planning 1505 rows yields to the event loop: these land after its snapshot.
    const late = await Promise.all(Array.from({ length: 20 }, (_, i) => memory.store(S1, { event: event(5000 + i), importance: 0.8 })));
    const result = await consolidation;
    expect(result).toMatchObject({ before: 1525, after: 1521, merged: 4, carried_over: 20 });
    const ids = idsInDb(m, S1);
    expect(ids.size).toBe(1521);
    for (const s of late) {
      expect(ids.has(s.memory_id)).toBe(true);
    }
    const probe = await memory.retrieve(S1, event(5007), 1);
    expect(probe.memories[0].memory_id).toBe(late[7].memory_id);
    expect(probe.total_memories).toBe(1521);
  });

  it('under concurrent stores, retrievals and consolidations: nothing is lost and readers see all-before or all-after', async () => {
    const GROUPS = 8;
    const COPIES = 5;
    await memory.storeMany(S1, Array.from({ length: 1200 }, (_, i) => ({ event: event(i), importance: 0.8 })));
    const groups: number[][] = [];
    for (let g = 0; g < GROUPS; g++) {
      const stored = await memory.storeMany(S1, Array.from({ length: COPIES }, (_, c) => ({ event: { ...dupGroup(g), timestamp: c }, importance: 0.8 })));
      groups.push(stored.map((s) => s.memory_id));
    }
    let writing = true;
    const written = new Map<number, number>(); // event number → memory id
    const writer = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const n = 10_000 + w * 100 + i;
        const s = await memory.store(S1, { event: event(n), importance: 0.8 });
        written.set(n, s.memory_id);
        await tick(); // like requests arriving over time (a loop of microtasks only would starve the event loop)
      }
    };
    const observations = { before: 0, after: 0, mixed: [] as number[][] };
    const reader = async (r: number) => {
      for (let i = 0; writing || i < 3; i++) {
        const g = (r + i) % GROUPS;
        const res = await memory.retrieve(S1, dupGroup(g), COPIES + 5);
        expect(isSorted(res)).toBe(true);
        const twins = res.memories.filter((x) => x.similarity > 0.9999).map((x) => x.memory_id).sort((a, b) => a - b);
        if (twins.length === COPIES && twins.every((id, j) => id === groups[g][j])) observations.before++;
        else if (twins.length === 1 && groups[g].includes(twins[0])) observations.after++;
        else observations.mixed.push(twins);
        await tick();
      }
    };
    const readers = Array.from({ length: 4 }, (_, r) => reader(r));
    const writers = Array.from({ length: 5 }, (_, w) => writer(w));
    const results = [];
    try {
      await until(() => written.size >= 40 && observations.before > 0, 'some stores and reads before consolidating');
      results.push(await memory.consolidate(S1));
      results.push(await memory.consolidate(S1)); // a second one, over the rows stored meanwhile
      await Promise.all(writers);
    } finally {
      writing = false; // whatever happened, the readers stop
      await Promise.allSettled(readers);
    }
    await Promise.all(readers);

    expect(observations.mixed).toEqual([]);
    expect(observations.before).toBeGreaterThan(0);
    expect(observations.after).toBeGreaterThan(0);
    expect(results[0].merged).toBe(GROUPS * (COPIES - 1));
    expect(results[0].carried_over + results[1].carried_over).toBeGreaterThan(0);
    // Every store survived, in the table and the index, and the two agree.
    expect(written.size).toBe(200);
    const ids = idsInDb(m, S1);
    for (const id of written.values()) expect(ids.has(id)).toBe(true);
    expect(ids.size).toBe(1200 + GROUPS + 200);
    for (const [n, id] of [...written].filter((_, i) => i % 25 === 0)) {
      const probe = await memory.retrieve(S1, event(n), 1);
      expect(probe.total_memories).toBe(ids.size);
      expect(probe.memories[0]).toMatchObject({ memory_id: id, similarity: expect.closeTo(1, 6) });
    }
  });

  it('a consolidation swaps its index only once a store in flight has published into the old one (MEMORY): nothing stored goes missing', async () => {
    await memory.storeMany(S1, Array.from({ length: 20 }, (_, i) => ({ event: event(i), importance: 0.5 })));
    const db = m.database.service;
    const write = db.write.bind(db);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The next store stops between taking the session's index and writing its row.
    const spy = jest.spyOn(db, 'write').mockImplementation(async (body, options) => {
      if (options?.label === 'memory.store') await gate;
      return write(body, options);
    });
    try {
      const stored = memory.store(S1, { event: event(500), importance: 0.9 });
      await until(() => spy.mock.calls.some(([, o]) => o?.label === 'memory.store'), 'the store at its write');
      let settled = false;
      const consolidated = memory.consolidate(S1).finally(() => (settled = true));
      // Its swap needs the session's MEMORY write lock, which the store holds (read) meanwhile.
      await until(() => settled || m.locks.resolve(LockName.MEMORY).queueDepth(S1) === 1, 'the consolidation at its swap');
      open();
      const { memory_id } = await stored;
      await consolidated;
      const found = await memory.retrieve(S1, event(500), 1);
      expect(found.memories[0]?.memory_id).toBe(memory_id);
      expect(found.total_memories).toBe(countRows(m, S1));
    } finally {
      open();
      spy.mockRestore();
    }
  });

  it('runs one consolidation per session at a time; calls arriving meanwhile share the next one', async () => {
    await memory.storeMany(S1, Array.from({ length: 1100 }, (_, i) => ({ event: event(i), importance: 0.8 })));
    const a = memory.consolidate(S1);
    // Stored after the first one's snapshot: the next consolidation must cover them.
    await memory.storeMany(S1, Array.from({ length: 3 }, () => ({ event: dupGroup(9), importance: 0.8 })));
    const b = memory.consolidate(S1);
    const c = memory.consolidate(S1);
    expect(c).toBe(b);
    expect(b).not.toBe(a);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toMatchObject({ merged: 0, carried_over: 3 });
    expect(rb).toMatchObject({ before: 1103, merged: 2, after: 1101 });
    expect(memory.stats().consolidations).toBe(2);
  });

  it('leaves work past the change budget to the next consolidation, keeping the session due', async () => {
    const small = await createStandaloneMemory({ sessions: [S1], options: { maxChangesPerConsolidation: 4 } });
    try {
      await small.service.storeMany(S1, Array.from({ length: 4 }, (_, g) => Array.from({ length: 3 }, () => ({ event: dupGroup(g), importance: 0.8 }))).flat());
      const first = await small.service.consolidate(S1);
      expect(first).toMatchObject({ complete: false, before: 12 });
      let runs = 1;
      for (let r = first; !r.complete && runs < 10; runs++) r = await small.service.consolidate(S1);
      expect(runs).toBeGreaterThan(1);
      expect(countRows(small, S1)).toBe(4);
    } finally {
      await small.close();
    }
  });

  it('refuses stores past MEMORY_MAX_PER_SESSION and schedules a consolidation that makes room', async () => {
    const small = await createStandaloneMemory({ sessions: [S1], options: { maxPerSession: 20 } });
    try {
      await small.service.storeMany(S1, Array.from({ length: 20 }, (_, i) => ({ event: event(i), importance: 0.6 + i / 100 })));
      await expect(small.service.store(S1, { event: event(100), importance: 0.9 })).rejects.toBeInstanceOf(MemoryFullError);
      await until(() => small.service.stats().consolidations === 1, 'the scheduled consolidation');
      expect(countRows(small, S1)).toBe(18);
      const lowest = await small.service.retrieve(S1, event(0), 1);
      expect(lowest.memories[0].similarity).toBeLessThan(0.99); // the least important two were pruned
      await expect(small.service.store(S1, { event: event(100), importance: 0.9 })).resolves.toMatchObject({ embedding_generated: true });
    } finally {
      await small.close();
    }
  });

  it('drops a session index when the session expires', async () => {
    await memory.storeMany(S1, [{ event: event(1), importance: 0.5 }]);
    await memory.retrieve(S1, event(1), 1);
    expect(memory.stats().sessions_loaded).toBe(1);
    m.sessions.expire(S1);
    expect(memory.stats().sessions_loaded).toBe(0);
    await expect(memory.retrieve(S1, event(1), 1)).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(countRows(m, S1)).toBe(1);
  });

  it('re-embeds a session’s memories of another provider when its index loads', async () => {
    await memory.storeMany(S1, Array.from({ length: 30 }, (_, i) => ({ event: event(i), importance: 0.5 })));
    class Renamed implements EmbeddingProvider {
      readonly name = 'hashing-test-v2';
      readonly dimensions = 384;
      readonly maxBatch = 8;
      calls = 0;
      private readonly inner = new HashingEmbeddingProvider();
      embed(inputs: readonly EmbeddingInput[]): Promise<Float32Array[]> {
        this.calls++;
        return this.inner.embed(inputs);
      }
    }
    const provider = new Renamed();
    const next = m.reopen({ provider });
    const result = await next.retrieve(S1, event(12), 3);
    expect(result.total_memories).toBe(30);
    expect(result.memories[0].similarity).toBeCloseTo(1, 6);
    expect(provider.calls).toBeGreaterThanOrEqual(4);
    const models = m.database.connection.prepare('SELECT DISTINCT embedding_model FROM memories').all() as Array<{ embedding_model: string }>;
    expect(models).toEqual([{ embedding_model: 'hashing-test-v2' }]);
  });

  it('consolidates in the background on its timer, through the same exclusive path', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask', 'performance'] });
    const timed = await createStandaloneMemory({ sessions: [S1], options: { consolidateIntervalMs: 60_000, accessFlushMs: 1_000 } });
    try {
      const mem = timed.service;
      await mem.storeMany(S1, Array.from({ length: 6 }, () => ({ event: dupGroup(3), importance: 0.7 })));
      await mem.retrieve(S1, dupGroup(3), 1);
      await jest.advanceTimersByTimeAsync(1_000);
      await until(() => mem.stats().pending_access_updates === 0, 'the access flush timer');
      expect(mem.stats().consolidations).toBe(0);
      await jest.advanceTimersByTimeAsync(59_000);
      await until(() => mem.stats().consolidations === 1, 'the consolidation timer');
      expect(countRows(timed, S1)).toBe(1);
      expect((await mem.retrieve(S1, dupGroup(3), 10)).memories).toHaveLength(1);
      // Nothing new: the next tick leaves the session alone.
      await jest.advanceTimersByTimeAsync(60_000);
      await flushMicrotasks();
      expect(mem.stats().consolidations).toBe(1);
    } finally {
      await timed.close();
      jest.useRealTimers();
    }
  });
});

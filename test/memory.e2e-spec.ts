import { randomUUID } from 'node:crypto';
import { MemoryService } from '../src/modules/memory';
import { request, startEngine, type JsonResponse, type RunningEngine } from './support/engine';
import { until as waitFor } from '../src/common/testing/wait.test-kit';

/** A distinct event per n: its words are its own, so no two are near-duplicates. */
function event(n: number): Record<string, unknown> {
  return {
    type: ['monster_kill', 'item_pickup', 'death', 'trade', 'skill_use'][n % 5],
    location: { map: `field${n % 23}`, x: (n * 37) % 400, y: (n * 91) % 400 },
    actors: [`npc${n}`, `mob${n % 97}`],
    outcome: n % 3 === 0 ? 'victory' : 'defeat',
    situation: `event ${n} happened near landmark${n} with token${n * 13} and clue${n % 101}`,
  };
}

/** Copies of one event that differ only in a clock field: identical embeddings. */
function duplicate(group: number, copy: number): Record<string, unknown> {
  return { type: 'ambush', location: { map: `dungeon${group}` }, actors: [`Boss${group}`], outcome: 'fled', situation: `ambushed by boss${group} twice`, timestamp: copy };
}

/** Polls a condition (bounded), for state driven by concurrent clients. */
const sorted = (memories: Array<{ similarity: number }>) => memories.every((m, i) => i === 0 || m.similarity <= memories[i - 1].similarity);

describe('memory over real HTTP', () => {
  let e: RunningEngine;
  const api = (path: string) => `${e.url}/api/v1/memory${path}`;
  const post = <T = any>(path: string, body: unknown): Promise<JsonResponse<T>> => request<T>(api(path), { body });
  const handshake = async (): Promise<string> => {
    const res = await request(`${e.url}/api/v1/handshake`, { body: { client: 'memory-e2e', client_version: '1.0' } });
    expect(res.status).toBe(200);
    return res.body.data.session_id as string;
  };

  beforeAll(async () => {
    // A short consolidation period: background sweeps run alongside the requests of every test.
    e = await startEngine({ MEMORY_CONSOLIDATE_INTERVAL_MS: '300' });
  });
  afterAll(async () => {
    await e?.stop();
  });

  it('answers 404 for an unknown session and 400 for invalid input', async () => {
    const unknown = randomUUID();
    for (const [path, body] of [
      ['/store', { session_id: unknown, event: event(1), importance: 0.5 }],
      ['/store/batch', { session_id: unknown, memories: [{ event: event(1), importance: 0.5 }] }],
      ['/retrieve', { session_id: unknown, current_state: event(1), top_k: 3 }],
      ['/consolidate', { session_id: unknown }],
    ] as const) {
      const res = await post(path, body);
      expect([path, res.status, res.body.error?.code]).toEqual([path, 404, 'NOT_FOUND']);
    }

    const sid = await handshake();
    const ok = { session_id: sid, event: event(1), importance: 0.5 };
    const bad: Array<[string, Record<string, unknown>]> = [
      ['/store', { ...ok, importance: 1.5 }],
      ['/store', { ...ok, importance: -0.1 }],
      ['/store', { ...ok, importance: '0.5' }],
      ['/store', { session_id: sid, event: event(1) }],
      ['/store', { ...ok, event: [1, 2] }],
      ['/store', { ...ok, event: 'text' }],
      ['/store', { ...ok, event: {} }],
      ['/store', { ...ok, memory_type: 'bogus' }],
      ['/store', { ...ok, extra: 1 }],
      ['/store', { ...ok, session_id: 'not-a-uuid' }],
      ['/store', { ...ok, event: { type: 'x', text: 'y'.repeat(17_000) } }],
      ['/store/batch', { session_id: sid, memories: [] }],
      ['/store/batch', { session_id: sid, memories: Array.from({ length: 1001 }, () => ({ event: { a: 1 }, importance: 0.1 })) }],
      ['/store/batch', { session_id: sid, memories: [{ event: event(1), importance: 2 }] }],
      ['/retrieve', { session_id: sid, current_state: event(1), top_k: 0 }],
      ['/retrieve', { session_id: sid, current_state: event(1), top_k: 101 }],
      ['/retrieve', { session_id: sid, current_state: event(1), top_k: 2.5 }],
      ['/retrieve', { session_id: sid, current_state: 'x', top_k: 5 }],
      ['/retrieve', { session_id: sid, current_state: { t: 'y'.repeat(17_000) } }],
      ['/consolidate', { session_id: sid, force: true }],
    ];
    for (const [path, body] of bad) {
      const res = await post(path, body);
      expect([path, JSON.stringify(body).slice(0, 80), res.status, res.body.error?.code]).toEqual([path, JSON.stringify(body).slice(0, 80), 400, 'INVALID_REQUEST']);
    }
    const tooBig = await post('/store', { ...ok, event: { type: 'x', text: 'y'.repeat(17_000) } });
    expect(tooBig.body.error.details).toMatchObject({ field: 'event', max_bytes: 16_384 });
    // Nothing was stored by any of them.
    expect((await post('/retrieve', { session_id: sid, current_state: event(1), top_k: 5 })).body.data.total_memories).toBe(0);
  });

  it('stores 5,000 memories in batches; an identical probe returns its memory first with similarity ≈ 1, results sorted', async () => {
    const sid = await handshake();
    const ids: number[] = [];
    let cached = 0;
    for (let b = 0; b < 5; b++) {
      const memories = Array.from({ length: 1000 }, (_, i) => ({ event: event(b * 1000 + i), importance: ((b * 1000 + i) % 10) / 10, memory_type: i % 7 === 0 ? 'semantic' : undefined }));
      const res = await post('/store/batch', { session_id: sid, memories });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('success');
      expect(res.body.data.stored).toBe(1000);
      for (const m of res.body.data.memories) {
        expect(m.embedding_generated).toBe(true);
        if (m.embedding_cached) cached++;
        ids.push(m.memory_id);
      }
    }
    expect(new Set(ids).size).toBe(5000);
    // Only event(1), probed by the previous test, came from the embedding cache.
    expect(cached).toBe(1);

    for (const n of [0, 3210, 4999]) {
      const res = await post('/retrieve', { session_id: sid, current_state: event(n), top_k: 10 });
      expect(res.status).toBe(200);
      const data = res.body.data;
      expect(data.total_memories).toBe(5000);
      expect(typeof data.query_time_ms).toBe('number');
      expect(data.memories).toHaveLength(10);
      expect(data.memories[0]).toMatchObject({ memory_id: ids[n], event: event(n), importance: (n % 10) / 10, memory_type: n % 1000 % 7 === 0 ? 'semantic' : 'episodic' });
      expect(data.memories[0].similarity).toBeGreaterThan(0.9999);
      expect(data.memories[1].similarity).toBeLessThan(0.97);
      expect(sorted(data.memories)).toBe(true);
      expect(new Date(data.memories[0].timestamp).toISOString()).toBe(data.memories[0].timestamp);
    }

    const single = await post('/store', { session_id: sid, event: { type: 'level_up', level: 99, situation: 'reached the top' }, importance: 1, memory_type: 'reflective' });
    expect(single.status).toBe(200);
    expect(single.body.data).toMatchObject({ embedding_generated: true, embedding_cached: false });
    const back = await post('/retrieve', { session_id: sid, current_state: { situation: 'reached the top', type: 'level_up', level: 99 }, top_k: 1 });
    expect(back.body.data.memories[0]).toMatchObject({ memory_id: single.body.data.memory_id, memory_type: 'reflective', importance: 1, access_count: 1 });
    expect(back.body.data.total_memories).toBe(5001);
    // The default top_k is 5.
    expect((await post('/retrieve', { session_id: sid, current_state: event(7) })).body.data.memories).toHaveLength(5);

    const stats = await request(api('/stats'));
    expect(stats.status).toBe(200);
    expect(stats.body.data.memories_indexed).toBeGreaterThanOrEqual(5001);
    expect(stats.body.data.index_bytes).toBeGreaterThan(5001 * 384 * 4);
    expect(stats.body.data.embedding).toMatchObject({ provider: 'hashing-v1', dimensions: 384, concurrency: { permits: 5 } });
  });

  it('under concurrent stores, retrievals and consolidations nothing is lost and readers see all-before or all-after', async () => {
    const sid = await handshake();
    const GROUPS = 6;
    const COPIES = 4;
    for (let b = 0; b < 2; b++) {
      const res = await post('/store/batch', { session_id: sid, memories: Array.from({ length: 750 }, (_, i) => ({ event: event(20_000 + b * 750 + i), importance: 0.8 })) });
      expect(res.status).toBe(200);
    }
    const groups: number[][] = [];
    for (let g = 0; g < GROUPS; g++) {
      const res = await post('/store/batch', { session_id: sid, memories: Array.from({ length: COPIES }, (_, c) => ({ event: duplicate(g, c), importance: 0.9 })) });
      groups.push(res.body.data.memories.map((m: { memory_id: number }) => m.memory_id).sort((a: number, b: number) => a - b));
    }

    const observations = { before: 0, after: 0, mixed: [] as unknown[] };
    const observe = (g: number, memories: Array<{ memory_id: number; similarity: number }>) => {
      const twins = memories.filter((m) => m.similarity > 0.9999).map((m) => m.memory_id).sort((a, b) => a - b);
      if (twins.length === COPIES && twins.every((id, i) => id === groups[g][i])) observations.before++;
      else if (twins.length === 1 && groups[g].includes(twins[0])) observations.after++;
      else observations.mixed.push({ group: g, twins });
    };

    let traffic = true;
    const stored = new Map<number, number>(); // event number → memory id
    const writer = async (w: number) => {
      for (let i = 0; traffic && i < 60; i++) {
        const n = 30_000 + w * 100 + i;
        const res = await post('/store', { session_id: sid, event: event(n), importance: 0.7 });
        expect(res.status).toBe(200);
        stored.set(n, res.body.data.memory_id);
      }
    };
    const reader = async (r: number) => {
      for (let i = 0; traffic; i++) {
        const g = (r + i) % GROUPS;
        const res = await post('/retrieve', { session_id: sid, current_state: duplicate(g, 0), top_k: COPIES + 6 });
        expect(res.status).toBe(200);
        expect(sorted(res.body.data.memories)).toBe(true);
        observe(g, res.body.data.memories);
      }
    };
    const memory = e.engine.app.get(MemoryService);
    const clients = [writer(0), writer(1), writer(2), reader(0), reader(1)];
    const consolidations: unknown[] = [];
    try {
      // The same path as the background timer (which is also running): the session's WRITE lock.
      for (let i = 0; i < 3; i++) {
        await waitFor(() => stored.size >= 20 * (i + 1), `${20 * (i + 1)} stores`, 30_000);
        consolidations.push(await memory.consolidate(sid));
      }
      // And one over HTTP, queued behind the session's other requests.
      const viaHttp = await post('/consolidate', { session_id: sid });
      expect(viaHttp.status).toBe(200);
      consolidations.push(viaHttp.body.data);
    } finally {
      traffic = false;
      await Promise.allSettled(clients);
    }
    await Promise.all(clients);

    expect(observations.mixed).toEqual([]);
    expect(observations.before + observations.after).toBeGreaterThan(0);
    expect(consolidations).toHaveLength(4);
    // Every group ends as one memory; every store survived and is found by its own event.
    for (let g = 0; g < GROUPS; g++) {
      const res = await post('/retrieve', { session_id: sid, current_state: duplicate(g, 0), top_k: COPIES + 6 });
      observe(g, res.body.data.memories);
      const twins = res.body.data.memories.filter((m: { similarity: number }) => m.similarity > 0.9999);
      expect(twins).toHaveLength(1);
      expect(twins[0].merged_count).toBe(COPIES);
    }
    expect(observations.mixed).toEqual([]);
    expect(observations.after).toBeGreaterThanOrEqual(GROUPS);
    for (const [n, id] of stored) {
      const res = await post('/retrieve', { session_id: sid, current_state: event(n), top_k: 1 });
      expect(res.body.data.memories[0]).toMatchObject({ memory_id: id, similarity: expect.closeTo(1, 6) });
    }
    const total = (await post('/retrieve', { session_id: sid, current_state: event(1), top_k: 1 })).body.data.total_memories;
    expect(total).toBe(1500 + GROUPS + stored.size);
  });
});

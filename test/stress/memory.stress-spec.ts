import { MemoryService } from '../../src/modules/memory';
import { SessionService } from '../../src/modules/session';
import { startEngine, type RunningEngine } from '../support/engine';
import { report, turn, Violations, within } from './support';

const STORERS = 6;
const STORES = 150;
const RETRIEVERS = 4;

type ConsolidationResult = Awaited<ReturnType<MemoryService['consolidate']>>;

/** Memory `n`'s event: distinct words, so no two memories are near-duplicates (nothing merges). */
const eventOf = (f: number, i: number) => ({ kind: 'stress', flow: f, n: i, note: `flow${f} item${i} ${(f * 7919 + i * 104729).toString(36)} ${'x'.repeat(i % 7)}` });

/**
 * MEMORY: 6 flows store 900 memories of one session while 4 flows retrieve and one flow
 * consolidates back to back. Consolidation builds the new index off to the side and swaps it
 * under the session's MEMORY write lock, which waits for the stores and retrievals in flight
 * (they hold the read lock): a store published into the index being replaced would be lost to
 * every later retrieval. Checked: each stored memory is found again (its own event retrieves
 * it first), the index holds exactly what the table holds, and every retrieval returns whole
 * memories (event = what was stored under that id) from an index that never shrinks.
 */
describe('stress: memory consolidation during stores and retrievals', () => {
  let e: RunningEngine;

  beforeAll(async () => {
    // Merging only identical vectors, no timer: the consolidations below are the test's own.
    e = await startEngine({ MEMORY_MERGE_SIMILARITY_PCT: '100', MEMORY_CONSOLIDATE_INTERVAL_MS: '0' });
  });
  afterAll(() => e.stop());

  it('no stored memory lost, retrievals see whole memories and an index that only grows, index = table', async () => {
    const memory = e.engine.app.get(MemoryService);
    const { session_id: sid } = await e.engine.app.get(SessionService).handshake({ client: 'stress-memory', client_version: '1' } as never);
    const violations = new Violations('memory');

    const stored = new Map<number, string>(); // memory_id → its event's JSON
    let storing = true;
    let storersDone = 0;
    const storer = async (f: number) => {
      for (let i = 0; i < STORES; i++) {
        const event = eventOf(f, i);
        const { memory_id } = await memory.store(sid, { event, importance: 0.9 });
        violations.check(!stored.has(memory_id), () => `memory id ${memory_id} given twice`);
        stored.set(memory_id, JSON.stringify(event));
        if (i % 2 === f % 2) await turn();
      }
      if (++storersDone === STORERS) storing = false;
    };

    const seen = new Map<number, string>(); // what retrievals returned, checked against `stored` at the end
    let retrievals = 0;
    const retriever = async (r: number) => {
      let lastTotal = 0;
      while (storing) {
        const ackedBefore = stored.size;
        const f = r % STORERS;
        const res = await memory.retrieve(sid, eventOf(f, retrievals % STORES), 10);
        retrievals++;
        violations.check(res.total_memories >= lastTotal, () => `retriever ${r}: index shrank from ${lastTotal} to ${res.total_memories}`);
        violations.check(res.total_memories >= ackedBefore, () => `retriever ${r}: index holds ${res.total_memories}, ${ackedBefore} stores were acknowledged before`);
        lastTotal = res.total_memories;
        for (const m of res.memories) {
          const json = JSON.stringify(m.event);
          const earlier = seen.get(m.memory_id);
          violations.check(earlier === undefined || earlier === json, () => `memory ${m.memory_id} came back as two different events`);
          seen.set(m.memory_id, json);
        }
        await turn();
      }
    };

    const results: ConsolidationResult[] = [];
    const consolidator = async () => {
      while (storing) {
        results.push(await memory.consolidate(sid));
        await turn();
      }
      results.push(await memory.consolidate(sid));
    };

    await within(120_000, 'stores, retrievals and consolidations', Promise.all([...Array.from({ length: STORERS }, (_, f) => storer(f)), ...Array.from({ length: RETRIEVERS }, (_, r) => retriever(r)), consolidator()]));

    for (const [id, json] of seen) violations.check(stored.get(id) === json, () => `retrieval returned memory ${id} as ${json}, stored as ${stored.get(id)}`);
    // Every acknowledged memory is in the live index: its own event retrieves it first.
    let lost = 0;
    for (const [id, json] of stored) {
      const res = await memory.retrieve(sid, JSON.parse(json) as never, 1);
      const found = res.memories[0]?.memory_id === id;
      if (!found) lost++;
      violations.check(found, () => `memory ${id} (${json}) not found; first hit ${res.memories[0]?.memory_id}`);
    }
    const live = (await memory.retrieve(sid, { probe: true }, 1)).total_memories;
    // The table: drop the index, the next retrieval loads it from the database.
    memory.forget(sid);
    const reloaded = (await memory.retrieve(sid, { probe: true }, 1)).total_memories;

    const sum = (k: 'merged' | 'pruned' | 'carried_over') => results.reduce((s, r) => s + r[k], 0);
    report('memory', {
      stored: stored.size,
      retrievals,
      distinct_memories_retrieved: seen.size,
      consolidations: results.length,
      consolidations_with_stores_carried_over: results.filter((r) => r.carried_over > 0).length,
      carried_over: sum('carried_over'),
      merged: sum('merged'),
      pruned: sum('pruned'),
      lost_from_index: lost,
      index_size: live,
      table_rows: reloaded,
      violations: violations.count,
    });
    violations.assertNone();
    expect(stored.size).toBe(STORERS * STORES);
    expect(sum('merged') + sum('pruned')).toBe(0);
    expect(live).toBe(stored.size);
    expect(reloaded).toBe(stored.size);
    expect(results.length).toBeGreaterThan(2);
  });
});

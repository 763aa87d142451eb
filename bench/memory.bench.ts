/**
 * Memory benchmarks (not a test: prints numbers, asserts nothing).
 *
 *   npm run build && node dist/bench/index.js memory
 *
 * One session with 100,000 memories in a real SQLite file (WAL, the engine's pragmas), through
 * MemoryService without HTTP: batch store throughput, memory use of the index, single-store and
 * retrieve latency (targets: store p99 ≤ 10 ms, retrieve p99 ≤ 20 ms at 100,000), the plain
 * JavaScript scan for comparison, a cold index load and a consolidation of the whole session.
 */
import * as fs from 'node:fs';
import { Logger } from '@nestjs/common';
import { embeddingInput } from '../src/modules/memory';
import { HashingEmbeddingProvider } from '../src/modules/memory';
import { createStandaloneMemory } from '../src/modules/memory/memory.test-kit';
import { percentile } from '../src/modules/metrics';

const MEMORIES = 100_000;
const BATCH = 1_000;
const STORES = 2_000;
const RETRIEVES = 1_000;
const TOP_K = 10;
const SESSION = 'bench-session';
const MB = 2 ** 20;

const TYPES = ['monster_kill', 'item_pickup', 'death', 'trade', 'skill_use', 'party_invite', 'chat', 'storage'];
const MONSTERS = ['Poring', 'Lunatic', 'Fabre', 'Pupa', 'Drops', 'Chonchon', 'Condor', 'Willow', 'Roda Frog', 'Hornet', 'Rocker', 'Savage Babe'];
const WORDS = ['low', 'hp', 'sp', 'loot', 'jellopy', 'potion', 'ambush', 'party', 'heal', 'flee', 'teleport', 'boss', 'drop', 'card', 'rare', 'weight', 'full', 'quest'];

/** Game-like events: a few types, maps and monsters, coordinates, and a short situation text with a unique tag. */
function event(n: number): Record<string, unknown> {
  const pick = <T>(xs: T[], salt: number): T => xs[(Math.imul(n + 1, 2654435761) >>> 0) % (xs.length + salt) % xs.length];
  return {
    type: pick(TYPES, 0),
    location: { map: `prt_fild${String(n % 12).padStart(2, '0')}`, x: (n * 37) % 400, y: (n * 91) % 400 },
    actors: [pick(MONSTERS, 1)],
    outcome: n % 3 === 0 ? 'victory' : 'fled',
    situation: `${pick(WORDS, 2)} ${pick(WORDS, 3)} ${pick(WORDS, 5)} near ${pick(MONSTERS, 7)} #${n}`,
    timestamp: 1_700_000_000_000 + n,
  };
}

function percentiles(samples: number[]): { p50: number; p95: number; p99: number; max: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => percentile(s, q * 100) ?? NaN;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s[s.length - 1]), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function runMemoryBench(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const m = await createStandaloneMemory({ sessions: [SESSION], options: { maxPerSession: 1_000_000 } });
  const memory = m.service;
  try {
    // Embedding cost alone.
    const provider = new HashingEmbeddingProvider();
    const inputs = Array.from({ length: 5_000 }, (_, i) => embeddingInput(event(10_000_000 + i) as never));
    let t = performance.now();
    for (const input of inputs) provider.embedValue(input.value);
    const embedUs = ((performance.now() - t) * 1000) / inputs.length;
    t = performance.now();
    for (const input of inputs.slice(0, 1000)) await m.generator.embed(input);
    for (const input of inputs.slice(0, 1000)) await m.generator.embed(input);
    console.log(`\nEmbedding (hashing-v1, 384 dims): ${embedUs.toFixed(1)} µs an event; generator round trip incl. cache: ${(((performance.now() - t) * 1000) / 2000).toFixed(1)} µs`);

    // Seed 100,000 memories through the batch path.
    gc();
    const before = process.memoryUsage();
    t = performance.now();
    for (let b = 0; b < MEMORIES / BATCH; b++) {
      await memory.storeMany(
        SESSION,
        Array.from({ length: BATCH }, (_, i) => ({ event: event(b * BATCH + i) as never, importance: ((b * BATCH + i) % 100) / 100 })),
      );
    }
    const seedMs = performance.now() - t;
    gc();
    const after = process.memoryUsage();
    const usage = memory.indexMemoryUsage(SESSION)!;
    const capacity = usage.vectors / 384 / 4;
    // Capacity-proportional parts per slot, plus the per-memory ones (id map, events).
    const perRow = (usage.vectors + usage.codes + usage.metadata) / capacity + (usage.idMapEstimate + usage.payloadsEstimate) / MEMORIES;
    const dbBytes = fs.statSync(m.file).size + (fs.existsSync(`${m.file}-wal`) ? fs.statSync(`${m.file}-wal`).size : 0);
    console.log(`\nSeeded ${MEMORIES.toLocaleString()} memories in batches of ${BATCH}: ${(seedMs / 1000).toFixed(1)} s (${Math.round(MEMORIES / (seedMs / 1000)).toLocaleString()} memories/s)`);
    console.log(`Memory use of one session's index at ${MEMORIES.toLocaleString()} memories (capacity ${capacity}; ${Math.round(perRow)} bytes a memory):`);
    console.table({
      'float32 vectors': { MiB: +(usage.vectors / MB).toFixed(1) },
      'int8 codes + scratch (wasm)': { MiB: +(usage.codes / MB).toFixed(1) },
      'per-row metadata': { MiB: +(usage.metadata / MB).toFixed(1) },
      'id map (estimate)': { MiB: +(usage.idMapEstimate / MB).toFixed(1) },
      'events JSON (estimate)': { MiB: +(usage.payloadsEstimate / MB).toFixed(1) },
      'index total': { MiB: +(usage.total / MB).toFixed(1) },
      'index total per 100,000 at exact capacity': { MiB: +((perRow * 100_000) / MB).toFixed(1) },
      'process: rss delta': { MiB: +((after.rss - before.rss) / MB).toFixed(1) },
      'process: arrayBuffers delta': { MiB: +((after.arrayBuffers - before.arrayBuffers) / MB).toFixed(1) },
      'process: heapUsed delta': { MiB: +((after.heapUsed - before.heapUsed) / MB).toFixed(1) },
      'database file (+WAL)': { MiB: +(dbBytes / MB).toFixed(1) },
    });

    // Single stores into the full session.
    const storeMs: number[] = [];
    for (let i = 0; i < STORES; i++) {
      const s = performance.now();
      await memory.store(SESSION, { event: event(MEMORIES + i) as never, importance: 0.5 });
      storeMs.push(performance.now() - s);
    }

    // Retrieval: half probes of stored events (embedding cached after the first time), half novel states.
    const retrieveMs: number[] = [];
    const novelMs: number[] = [];
    let firstHit = 0;
    for (let i = 0; i < RETRIEVES; i++) {
      const probe = i % 2 === 0;
      const n = probe ? (i * 7919) % MEMORIES : 50_000_000 + i;
      const s = performance.now();
      const r = await memory.retrieve(SESSION, event(n) as never, TOP_K);
      const ms = performance.now() - s;
      (probe ? retrieveMs : novelMs).push(ms);
      if (probe && r.memories[0]?.similarity > 0.9999) firstHit++;
    }
    console.log(`\nLatency at ${MEMORIES.toLocaleString()}+ memories in the session (ms; service calls, no HTTP; top_k ${TOP_K}):`);
    console.table({
      [`store (single, ${STORES})`]: percentiles(storeMs),
      [`retrieve: probe of a stored event (${retrieveMs.length})`]: percentiles(retrieveMs),
      [`retrieve: novel state, embedding computed (${novelMs.length})`]: percentiles(novelMs),
    });
    console.log(`Probes answered with their own memory first (similarity ≈ 1): ${firstHit}/${retrieveMs.length}`);

    // Cold load and the plain-JavaScript scan (no SIMD) for comparison.
    const plain = m.reopen({ options: { simd: false } });
    t = performance.now();
    await plain.retrieve(SESSION, event(1) as never, TOP_K);
    const loadMs = performance.now() - t;
    const plainMs: number[] = [];
    for (let i = 0; i < 100; i++) {
      const s = performance.now();
      await plain.retrieve(SESSION, event((i * 104_729) % MEMORIES) as never, TOP_K);
      plainMs.push(performance.now() - s);
    }
    console.log(`\nCold index load of ${(MEMORIES + STORES).toLocaleString()} memories from SQLite (first retrieve): ${loadMs.toFixed(0)} ms`);
    console.table({ 'retrieve, plain JS float32 scan (100)': percentiles(plainMs), 'retrieve, SIMD int8 + exact rerank': percentiles(retrieveMs) });
    plain.forget(SESSION);

    // Consolidation of the whole session (in runs of at most 5,000 row changes each, until
    // complete), with retrieval latency measured while it runs.
    const during: number[] = [];
    let running = true;
    const runs: Array<{ duration_ms: number; database_ms: number; exclusive_ms: number; merged: number; before: number; after: number; complete: boolean }> = [];
    const consolidation = (async () => {
      for (let i = 0; i < 50; i++) {
        const r = await memory.consolidate(SESSION);
        runs.push(r);
        if (r.complete) break;
      }
    })().finally(() => (running = false));
    for (let i = 0; running; i++) {
      const s = performance.now();
      await memory.retrieve(SESSION, event((i * 31) % MEMORIES) as never, TOP_K);
      during.push(performance.now() - s);
      await new Promise((r) => setImmediate(r));
    }
    await consolidation;
    const sum = (f: (r: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0);
    console.log(
      `\nConsolidation of ${runs[0].before.toLocaleString()} memories → ${runs[runs.length - 1].after.toLocaleString()} in ${runs.length} runs ` +
        `(${sum((r) => r.merged).toLocaleString()} near-duplicates merged): ${(sum((r) => r.duration_ms) / 1000).toFixed(1)} s in all`,
    );
    console.table({
      'run duration (ms)': percentiles(runs.map((r) => r.duration_ms)),
      'database transaction, event loop blocked (ms)': percentiles(runs.map((r) => r.database_ms)),
      'exclusive: session write lock (ms)': percentiles(runs.map((r) => r.exclusive_ms)),
      [`retrieve during consolidation (${during.length})`]: percentiles(during),
    });
    const stats = memory.stats();
    console.log(`SIMD: ${stats.simd}; embedding cache ${stats.embedding.cache.size}/${stats.embedding.cache.capacity}, hits ${stats.embedding.cache.hits}, computed ${stats.embedding.computed}`);
  } finally {
    await m.close();
  }
}

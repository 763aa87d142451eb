import type { LabelValue, MetricLabels, MetricSummary, StrategySummary } from '../../common/ports/metrics-sources.port';
import { STRATEGY_LABEL } from '../../common/ports/metrics-sources.port';
import { InvalidMetricError } from './metrics.errors';
import { percentile, type Rollup, type SeriesShape, SeriesStats, stats } from './series-stats';

export interface AggregatorOptions extends SeriesShape {
  /** Distinct series (name + labels) kept; values of further new series are dropped and counted. */
  maxSeries: number;
  /** A series without values for this long (and nothing left to roll up) is forgotten. */
  idleMs: number;
}

export interface SeriesEntry {
  readonly id: number;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Name + sorted labels. */
  readonly key: string;
  /** The label orders / value types that resolve to this series in the lookup trie. */
  readonly paths: Array<ReadonlyArray<readonly [string, LabelValue]>>;
  readonly stats: SeriesStats;
  /** Bound by a handle (`series()`): never evicted, since the handle keeps its id. */
  pinned: boolean;
  evicted: boolean;
}

export interface SeriesRollup {
  entry: SeriesEntry;
  rollup: Rollup;
}

/** The hot-path lookup: name, then each label name and value in the caller's order. No string is built. */
interface TrieNode {
  entry?: SeriesEntry;
  next?: Map<string, Map<LabelValue, TrieNode>>;
}

/** Internal names may use dots (`decision.processing_ms`); label names follow Prometheus. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.:]{0,127}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_LABELS = 8;
const MAX_LABEL_VALUE = 128;
/** Distinct label orders / value types remembered per series (more still resolve, more slowly). */
const MAX_PATHS = 8;
const SEP_LABEL = '\u0001';
const SEP_VALUE = '\u0002';

/**
 * The series table and everything computed from it: values drained from the ring are added
 * to their series; summaries, merges and rollups are read from here. Single-threaded by
 * construction (every method runs to completion on the event loop).
 */
export class MetricsAggregator {
  private readonly byKey = new Map<string, SeriesEntry>();
  private readonly trie = new Map<string, TrieNode>();
  private readonly byId = new Map<number, SeriesEntry>();
  private readonly byName = new Map<string, Set<SeriesEntry>>();
  private nextId = 1;
  /** Values refused because the series table was full. */
  droppedNewSeries = 0;
  /** Values whose series was evicted while they waited in the ring. */
  droppedEvicted = 0;

  constructor(readonly options: AggregatorOptions) {}

  get size(): number {
    return this.byId.size;
  }

  get windowSeconds(): number {
    return (this.options.bucketMs * this.options.windowBuckets) / 1000;
  }

  /**
   * The series of `name` + `labels`, created on first use; undefined (counted) when the table
   * is full. Throws InvalidMetricError for a malformed name or label (a programming error).
   * The hot path walks the lookup trie: one map lookup per name and per label, no allocation.
   */
  resolve(name: string, labels?: MetricLabels): SeriesEntry | undefined {
    let node = this.trie.get(name);
    if (node !== undefined && labels !== undefined) {
      for (const k in labels) {
        const child: TrieNode | undefined = node.next?.get(k)?.get(labels[k]);
        if (child === undefined) {
          node = undefined;
          break;
        }
        node = child;
      }
    }
    return node?.entry ?? this.create(name, labels);
  }

  byIdOf(id: number): SeriesEntry | undefined {
    return this.byId.get(id);
  }

  ingest(id: number, value: number, time: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) {
      this.droppedEvicted++;
      return;
    }
    entry.stats.add(value, time);
  }

  /** The summary of exactly this series, or undefined when it was never recorded. */
  summaryFor(name: string, labels: MetricLabels | undefined, now: number): MetricSummary | undefined {
    const canonical = canonicalLabels(labels);
    const entry = this.byKey.get(keyOf(name, canonical));
    return entry ? this.merge(name, canonical, [entry], now) : undefined;
  }

  /** Every series of `name` whose labels include all of `filter`, merged into one summary. */
  aggregate(name: string, filter: MetricLabels | undefined, now: number): MetricSummary {
    const wanted = canonicalLabels(filter);
    const matching = [...(this.byName.get(name) ?? [])].filter((e) => includes(e.labels, wanted));
    return this.merge(name, wanted, matching, now);
  }

  /** Per metric name, the merge of its series labelled with this strategy. */
  strategySummary(strategyId: string, now: number): StrategySummary {
    const metrics: Record<string, MetricSummary> = {};
    const filter = { [STRATEGY_LABEL]: strategyId };
    for (const [name, set] of this.byName) {
      const matching = [...set].filter((e) => e.labels[STRATEGY_LABEL] === strategyId);
      if (matching.length) metrics[name] = this.merge(name, filter, matching, now);
    }
    return { strategy_id: strategyId, window_seconds: this.windowSeconds, metrics };
  }

  /** Closes the rollup period of every series that had values in it. */
  takeRollups(): SeriesRollup[] {
    const out: SeriesRollup[] = [];
    for (const entry of this.byId.values()) {
      const rollup = entry.stats.takeRollup();
      if (rollup) out.push({ entry, rollup });
    }
    return out;
  }

  /** Forgets unpinned series idle for `idleMs` whose values are all rolled up; returns how many. */
  evictIdle(now: number): number {
    let evicted = 0;
    for (const entry of this.byId.values()) {
      if (entry.pinned || entry.stats.pendingRollup > 0 || now - entry.stats.lastAt < this.options.idleMs) continue;
      this.remove(entry);
      evicted++;
    }
    return evicted;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  private merge(name: string, labels: Readonly<Record<string, string>>, entries: SeriesEntry[], now: number): MetricSummary {
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let lCount = 0;
    let lSum = 0;
    let lMin = Infinity;
    let lMax = -Infinity;
    let last: SeriesEntry | undefined;
    const parts: Float64Array[] = [];
    for (const e of entries) {
      const w = e.stats.window(now);
      count += w.count;
      sum += w.sum;
      if (w.min !== null && w.min < min) min = w.min;
      if (w.max !== null && w.max > max) max = w.max;
      parts.push(w.values);
      const s = e.stats;
      lCount += s.count;
      lSum += s.sum;
      if (s.min < lMin) lMin = s.min;
      if (s.max > lMax) lMax = s.max;
      if (s.count > 0 && (last === undefined || s.lastAt > last.stats.lastAt)) last = e;
    }
    const sorted = concat(parts).sort();
    return {
      name,
      labels,
      window_seconds: this.windowSeconds,
      ...stats(count, sum, min, max),
      p50: percentile(sorted, 50) ?? null,
      p95: percentile(sorted, 95) ?? null,
      p99: percentile(sorted, 99) ?? null,
      samples: sorted.length,
      lifetime: stats(lCount, lSum, lMin, lMax),
      last_value: last ? last.stats.last : null,
      last_at: last ? Math.round(last.stats.lastAt) : null,
    };
  }

  private create(name: string, labels: MetricLabels | undefined): SeriesEntry | undefined {
    if (typeof name !== 'string' || !NAME.test(name)) throw new InvalidMetricError(`Invalid metric name ${JSON.stringify(name)}`);
    const canonical = canonicalLabels(labels);
    const key = keyOf(name, canonical);
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      if (this.byId.size >= this.options.maxSeries) {
        this.droppedNewSeries++;
        return undefined;
      }
      entry = { id: this.nextId++, name, labels: canonical, key, paths: [], stats: new SeriesStats(this.options), pinned: false, evicted: false };
      this.byKey.set(key, entry);
      this.byId.set(entry.id, entry);
      let set = this.byName.get(name);
      if (!set) this.byName.set(name, (set = new Set()));
      set.add(entry);
    }
    // Remember this label order / value types (a handful per series at most).
    if (entry.paths.length < MAX_PATHS) {
      const path: Array<readonly [string, LabelValue]> = [];
      if (labels !== undefined) for (const k in labels) path.push([k, labels[k]]);
      let node = this.trie.get(name);
      if (!node) this.trie.set(name, (node = {}));
      for (const [k, v] of path) {
        node.next ??= new Map();
        let values = node.next.get(k);
        if (!values) node.next.set(k, (values = new Map()));
        let child = values.get(v);
        if (!child) values.set(v, (child = {}));
        node = child;
      }
      node.entry = entry;
      entry.paths.push(path);
    }
    return entry;
  }

  private remove(entry: SeriesEntry): void {
    entry.evicted = true;
    this.byKey.delete(entry.key);
    for (const path of entry.paths) {
      const root = this.trie.get(entry.name);
      if (root && prune(root, path, 0)) this.trie.delete(entry.name);
    }
    this.byId.delete(entry.id);
    const set = this.byName.get(entry.name);
    set?.delete(entry);
    if (set?.size === 0) this.byName.delete(entry.name);
  }
}

/** Unlinks the series at the end of `path`; true when `node` is left empty (its parent drops it). */
function prune(node: TrieNode, path: ReadonlyArray<readonly [string, LabelValue]>, i: number): boolean {
  if (i === path.length) {
    node.entry = undefined;
  } else {
    const [k, v] = path[i];
    const values = node.next?.get(k);
    const child = values?.get(v);
    if (values && child && prune(child, path, i + 1)) {
      values.delete(v);
      if (values.size === 0) node.next!.delete(k);
    }
  }
  return node.entry === undefined && (node.next === undefined || node.next.size === 0);
}

/** Labels validated, stringified and sorted by name (frozen: shared by summaries). */
export function canonicalLabels(labels: MetricLabels | undefined): Readonly<Record<string, string>> {
  if (labels === undefined || labels === null) return EMPTY;
  const names = Object.keys(labels);
  if (names.length === 0) return EMPTY;
  if (names.length > MAX_LABELS) throw new InvalidMetricError(`At most ${MAX_LABELS} labels per metric, got ${names.length}`);
  names.sort();
  const out: Record<string, string> = {};
  for (const n of names) {
    if (!LABEL_NAME.test(n)) throw new InvalidMetricError(`Invalid label name ${JSON.stringify(n)}`);
    const raw = labels[n];
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new InvalidMetricError(`Label ${n} must be a string, number or boolean`);
    }
    const value = String(raw);
    if (value.length > MAX_LABEL_VALUE) throw new InvalidMetricError(`Label ${n} is longer than ${MAX_LABEL_VALUE} characters`);
    out[n] = value;
  }
  return Object.freeze(out);
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

function keyOf(name: string, canonical: Readonly<Record<string, string>>): string {
  let key = name;
  for (const k in canonical) key += SEP_LABEL + k + SEP_VALUE + canonical[k];
  return key;
}

function includes(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  for (const k in wanted) if (labels[k] !== wanted[k]) return false;
  return true;
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0];
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: every line must be
 * a HELP, TYPE, sample or empty line; names, labels and values must be valid; a family's HELP
 * and TYPE come once, before its samples, and its samples are contiguous; no series twice;
 * histograms have increasing `le`, cumulative buckets, `+Inf` = `_count`, and `_sum`.
 * Throws an Error naming the line on the first violation.
 */
export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help?: string;
  type: PromType;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Go's strconv.ParseFloat, as Prometheus reads values: special values in any case (prom-client writes "Nan"). */
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity)|nan)$/i;
const TYPES = new Set<PromType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePromValue(raw: string): number {
  if (!FLOAT.test(raw)) throw new Error(`not a number: ${JSON.stringify(raw)}`);
  if (/^\+?inf(inity)?$/i.test(raw)) return Infinity;
  if (/^-inf(inity)?$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  return Number(raw);
}

/** The family a sample belongs to: histogram/summary samples carry a suffix. */
function familyOf(sample: string, families: Map<string, PromFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return sample;
}

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}: ${line}`);
    if (name in labels) throw new Error(`duplicate label ${name}: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted: ${line}`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[++j];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`bad escape \\${n}: ${line}`);
      } else if (c === '\n') {
        throw new Error(`raw newline in label value: ${line}`);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected , or } after label ${name}: ${line}`);
  }
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  const typed = new Set<string>();
  let current: string | undefined;
  const open = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const switchTo = (name: string, line: string) => {
    if (current === name) return;
    if (closed.has(name)) throw new Error(`family ${name} is not contiguous: ${line}`);
    if (current !== undefined) closed.add(current);
    current = name;
  };

  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`comment lines other than HELP/TYPE are not expected: ${line}`);
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}: ${line}`);
      switchTo(name, line);
      const f = open(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`);
        if (/\\(?![\\n])/.test(rest.replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP: ${line}`);
        f.help = rest.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (f.samples.length > 0) throw new Error(`TYPE after samples for ${name}`);
        if (typed.has(name)) throw new Error(`second TYPE for ${name}`);
        if (!TYPES.has(rest as PromType)) throw new Error(`bad type ${JSON.stringify(rest)}: ${line}`);
        f.type = rest as PromType;
        typed.add(name);
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`bad sample line: ${line}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`bad sample line: ${line}`);
    const value = parsePromValue(parts[1]);
    if (parts.length === 3 && !/^-?\d+$/.test(parts[2])) throw new Error(`bad timestamp: ${line}`);
    const family = familyOf(name, families);
    switchTo(family, line);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`duplicate series: ${line}`);
    seenSeries.add(series);
    const f = open(family);
    if (f.type === 'histogram' && name === family) throw new Error(`histogram sample without suffix: ${line}`);
    if (f.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`bucket without le: ${line}`);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, PromSample[]>();
  for (const s of f.samples) {
    const rest = Object.entries(s.labels).filter(([k]) => k !== 'le').sort();
    const key = JSON.stringify(rest);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(s);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    const sum = samples.find((s) => s.name === `${f.name}_sum`);
    if (!count || !sum) throw new Error(`histogram ${f.name}${key} lacks _count or _sum`);
    let lastLe = -Infinity;
    let lastCount = 0;
    for (const b of buckets) {
      const le = parsePromValue(b.labels.le);
      if (!(le > lastLe)) throw new Error(`histogram ${f.name}${key}: le not increasing`);
      if (b.value < lastCount) throw new Error(`histogram ${f.name}${key}: buckets not cumulative`);
      lastLe = le;
      lastCount = b.value;
    }
    if (lastLe !== Infinity) throw new Error(`histogram ${f.name}${key}: no +Inf bucket`);
    if (lastCount !== count.value) throw new Error(`histogram ${f.name}${key}: +Inf bucket ${lastCount} != _count ${count.value}`);
  }
}

/** Sum of a family's samples whose labels include `filter`. */
export function promSum(families: Map<string, PromFamily>, name: string, filter: Record<string, string> = {}, sampleName = name): number {
  const f = families.get(name);
  if (!f) return 0;
  return f.samples
    .filter((s) => s.name === sampleName && Object.entries(filter).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

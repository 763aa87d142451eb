import { Logger } from '@nestjs/common';
import { InvalidMetricError } from './metrics.errors';
import { parsePrometheusText, promSum } from './prometheus-text.test-kit';
import { EXPOSITION_SLICE_MS, PromRegistry } from './prom-registry';

/** Holds the loop `ms` (a slow metric reader). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** The text without the process's own metrics (they change between two renderings). */
function ownMetrics(text: string): string {
  return text
    .split('\n\n')
    .filter((block) => !/^# HELP (process|nodejs)_/.test(block))
    .join('\n\n');
}

describe('PromRegistry', () => {
  beforeAll(() => Logger.overrideLogger(false));
  it('exposes registered gauges and counters (read at scrape time) next to the process metrics, in valid text format', async () => {
    const prom = new PromRegistry();
    let version: number | null = null;
    let inferences = 0;
    prom.registerGauge('openkore_ml_model_version', 'Active model version', () => version);
    prom.registerCounter('openkore_ml_inferences_total', 'Inferences', () => inferences);
    prom.registerGauge('openkore_pdca_phase', 'Current PDCA phase', () => ['plan', 'do', 'check', 'act'].map((p) => ({ labels: { phase: p }, value: p === 'check' ? 1 : 0 })), {
      labelNames: ['phase'],
    });
    const h = prom.histogram('t_seconds', 'a "histogram" with \\ and \n in its help', ['route'], [0.1, 1]);
    h.labels('/a/"quoted"\\path\n').observe(0.5);
    h.labels('/b').observe(5);

    let f = parsePrometheusText(await prom.exposition());
    expect(f.get('openkore_ml_model_version')!.samples).toEqual([]); // no model: no sample, not 0
    expect(f.get('t_seconds')!.help).toBe('a "histogram" with \\ and \n in its help');
    expect(promSum(f, 't_seconds', { route: '/a/"quoted"\\path\n' }, 't_seconds_count')).toBe(1);
    expect(f.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(f.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');

    version = 3;
    inferences = 41;
    f = parsePrometheusText(await prom.exposition());
    expect(promSum(f, 'openkore_ml_model_version')).toBe(3);
    expect(promSum(f, 'openkore_ml_inferences_total')).toBe(41);
    expect(f.get('openkore_ml_inferences_total')!.type).toBe('counter');
    expect(f.get('openkore_pdca_phase')!.samples.filter((s) => s.value === 1).map((s) => s.labels.phase)).toEqual(['check']);
    expect(prom.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('a reader that throws or lies about its labels empties its metric, not the scrape', async () => {
    const prom = new PromRegistry();
    prom.registerGauge('boom', 'throws', () => {
      throw new Error('reader bug');
    });
    prom.registerGauge('undeclared', 'labels not declared', () => [{ labels: { x: 1 }, value: 1 }]);
    prom.registerCounter('negative_total', 'a counter going below zero', () => -5);
    prom.registerGauge('fine', 'fine', () => 1);
    const warn = jest.spyOn(Logger.prototype, 'warn');
    await prom.exposition();
    const f = parsePrometheusText(await prom.exposition());
    // Logged once per failing metric, not at every scrape.
    expect(warn.mock.calls.map(([o]) => (o as { metric: string }).metric).sort()).toEqual(['boom', 'negative_total', 'undeclared']);
    warn.mockRestore();
    expect(f.get('boom')!.samples).toEqual([]);
    expect(f.get('undeclared')!.samples).toEqual([]);
    expect(f.get('negative_total')!.samples).toEqual([]);
    expect(promSum(f, 'fine')).toBe(1);
  });

  it("renders the text prom-client's Registry#metrics() renders, metric for metric in the same order", async () => {
    const prom = new PromRegistry();
    prom.registerGauge('g', 'a gauge', () => 2.5);
    prom.registerCounter('c_total', 'a counter', () => [{ labels: { kind: 'a "b"\\' }, value: 7 }], { labelNames: ['kind'] });
    prom.registerGauge('empty', 'no value', () => null);
    const h = prom.histogram('h_seconds', 'a histogram', ['route'], [0.01, 0.1]);
    h.labels('/x').observe(0.05);
    h.labels('/y').observe(Infinity);
    const ours = await prom.exposition();
    const theirs = await prom.registry.metrics();
    expect(ownMetrics(ours)).toBe(ownMetrics(theirs));
    const names = (text: string) => [...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]);
    expect(names(ours)).toEqual(names(theirs));
    expect(ours.endsWith('\n')).toBe(true);
    expect(() => parsePrometheusText(ours)).not.toThrow();
  });

  it('lets the loop run between metrics once a slice has taken its time, so a scrape holds no request long', async () => {
    const prom = new PromRegistry();
    const slow = 5;
    for (let i = 0; i < slow; i++) prom.registerGauge(`slow_${i}`, 'a reader slower than a slice', () => (busy(EXPOSITION_SLICE_MS + 1), i));
    // A callback queued on the loop meanwhile, as a request's would be: how often does it get a turn?
    let turns = 0;
    let done = false;
    const spin = (): void => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const text = await prom.exposition();
    done = true;
    // Every slow reader fills a slice of its own: the loop got a turn between any two of them.
    expect(turns).toBeGreaterThanOrEqual(slow - 1);
    for (let i = 0; i < slow; i++) expect(promSum(parsePrometheusText(text), `slow_${i}`)).toBe(i);
  });

  it('refuses invalid names, missing help and duplicates', () => {
    const prom = new PromRegistry();
    prom.registerGauge('dup', 'x', () => 1);
    expect(() => prom.registerGauge('dup', 'x', () => 1)).toThrow(InvalidMetricError);
    expect(() => prom.registerGauge('has-dash', 'x', () => 1)).toThrow(InvalidMetricError);
    expect(() => prom.registerGauge('ok_name', ' ', () => 1)).toThrow(InvalidMetricError);
    expect(() => prom.registerCounter('ok_total', 'x', () => 1, { labelNames: ['__reserved'] })).toThrow(InvalidMetricError);
  });

  it('two registries in one process do not collide (each engine has its own)', async () => {
    const a = new PromRegistry();
    const b = new PromRegistry();
    a.registerGauge('same_name', 'a', () => 1);
    b.registerGauge('same_name', 'b', () => 2);
    expect(promSum(parsePrometheusText(await a.exposition()), 'same_name')).toBe(1);
    expect(promSum(parsePrometheusText(await b.exposition()), 'same_name')).toBe(2);
  });
});

describe('parsePrometheusText (the test parser itself is strict)', () => {
  it.each([
    ['garbage line', 'hello world\n'],
    ['bad name', '# TYPE 9bad gauge\n9bad 1\n'],
    ['bad value', 'x abc\n'],
    ['unquoted label', 'x{a=b} 1\n'],
    ['duplicate series', 'x 1\nx 2\n'],
    ['non-contiguous family', 'x 1\ny 1\nx{a="1"} 2\n'],
    ['TYPE after samples', 'x 1\n# TYPE x gauge\n'],
    ['no final newline', 'x 1'],
    ['bad escape', 'x{a="\\t"} 1\n'],
    ['histogram +Inf != count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['histogram not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['other comments', '# just a comment\n'],
  ])('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });

  it('accepts NaN, ±Inf, exponents and timestamps', () => {
    const f = parsePrometheusText('# TYPE x gauge\nx{a="1"} NaN\nx{a="2"} +Inf\nx{a="3"} -1.5e-3 1700000000000\n');
    expect(f.get('x')!.samples.map((s) => s.value)).toEqual([NaN, Infinity, -0.0015]);
  });
});

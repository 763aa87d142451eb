import { MacroService, type ExecutionView } from '../../src/modules/macro';
import { SessionService } from '../../src/modules/session';
import { startEngine, tempDir, type RunningEngine } from '../support/engine';
import { until, untilValue } from '../../src/common/testing/wait.test-kit';
import { report, turn, Violations, within } from './support';

const FILE = 'stress.txt';
const REWRITES = 30;
const SESSIONS = 8;
const RELOAD_TIMEOUT_MS = 10_000;

/** Generation `g` of the file: both macros change together, and every log line names g. */
const content = (g: number) =>
  `macro stressA {\n    log A ${g}\n    call stressB\n    pause 0.05\n    call stressB\n    log end ${g}\n}\n\nmacro stressB {\n    log B ${g}\n}\n`;
const expectedLog = (g: number) => [`A ${g}`, `B ${g}`, `B ${g}`, `end ${g}`];

/**
 * MACRO: executions of a macro (which calls another) run back to back on 8 sessions while its
 * file is rewritten 30 times through the macro service. An execution holds the read locks of
 * its macro and of every callee for its whole run, so a reload waits for the executions of the
 * version it replaces (bounded: MACRO_RELOAD_TIMEOUT_MS, then LOCK_TIMEOUT and the old version
 * keeps serving) and executions asked for meanwhile queue behind it.
 */
describe('stress: macro reloads during executions', () => {
  let e: RunningEngine;

  beforeAll(async () => {
    e = await startEngine({
      MACRO_DIR: tempDir('okai-stress-macro-'),
      MACRO_DEBOUNCE_MS: '20',
      MACRO_RELOAD_TIMEOUT_MS: String(RELOAD_TIMEOUT_MS),
      MACRO_RESCAN_INTERVAL_MS: '0',
    });
  });
  afterAll(() => e.stop());

  it('every execution runs one whole version start to end, no older version runs once a newer one is published, no reload or execution lost', async () => {
    const macros = e.engine.app.get(MacroService);
    const sessions = e.engine.app.get(SessionService);
    const violations = new Violations('macro');

    const first = await macros.deploy(FILE, content(0));
    // generation → the version the load published (both macros share it: they change together).
    const versionOf = new Map<number, number>([[0, first.versions['macro:stressA']]]);
    expect(first.versions).toEqual({ 'macro:stressA': 1, 'macro:stressB': 1 });

    const sids = await Promise.all(Array.from({ length: SESSIONS }, async (_, i) => (await sessions.handshake({ client: `stress-macro-${i}`, client_version: '1' } as never)).session_id));

    let rewriting = true;
    const finished: ExecutionView[] = [];
    const runner = async (sid: string) => {
      // Keeps going a little after the last rewrite, so the last version runs too.
      let after = 3;
      while (rewriting || after-- > 0) {
        const { execution_id: id } = macros.execute(sid, 'stressA');
        const done = await untilValue(() => macros.execution(id), (x) => x.finished_at !== null, `execution ${id}`, 30_000, 20);
        finished.push(done);
      }
    };

    // Sampled every turn of the loop: the published version, and what runs.
    const observed = { samples: 0, reloads_seen_waiting: 0, max_running: 0 };
    let observing = true;
    const observer = async () => {
      while (observing) {
        const published = macros.detail('stressA', 'macro');
        const running = macros.executions({ macro: 'stressA', limit: 100 }).filter((x) => x.status === 'running');
        observed.samples++;
        observed.max_running = Math.max(observed.max_running, running.length);
        if (published.reload_pending && running.length > 0) observed.reloads_seen_waiting++;
        for (const x of running) {
          violations.check(x.version === published.version, () => `execution ${x.execution_id} of version ${x.version} still running while version ${published.version} is published`);
        }
        await turn();
      }
    };

    const outcomes = { loaded: 0, timed_out: 0, other: [] as string[] };
    const rewriter = async () => {
      for (let g = 1; g <= REWRITES; g++) {
        // Each rewrite lands while executions of the current version run.
        await until(() => macros.executions({ macro: 'stressA', limit: 20 }).some((x) => x.status === 'running'), 'an execution running', 10_000, 20);
        try {
          const result = await macros.deploy(FILE, content(g));
          versionOf.set(g, result.versions['macro:stressA']);
          violations.check(result.status === 'loaded' && result.versions['macro:stressB'] === result.versions['macro:stressA'], () => `rewrite ${g}: ${JSON.stringify(result.versions)}`);
          outcomes.loaded++;
        } catch (err) {
          // The documented bound: past MACRO_RELOAD_TIMEOUT_MS the reload fails and the old version keeps serving.
          if ((err as { code?: string }).code === 'LOCK_TIMEOUT') outcomes.timed_out++;
          else outcomes.other.push(`${(err as { code?: string }).code}: ${(err as Error).message}`);
        }
      }
      rewriting = false;
    };

    const watching = observer();
    await within(150_000, 'macro executions and rewrites', Promise.all([rewriter(), ...sids.map(runner)]));
    observing = false;
    await watching;

    // Each execution: completed, one version of both macros, the log of that one generation.
    const genOfVersion = new Map([...versionOf].map(([g, v]) => [v, g]));
    const byVersion = new Map<number, number>();
    for (const x of finished) {
      const g = genOfVersion.get(x.version ?? -1);
      byVersion.set(x.version ?? -1, (byVersion.get(x.version ?? -1) ?? 0) + 1);
      violations.check(x.status === 'completed', () => `execution ${x.execution_id}: ${x.status} ${JSON.stringify(x.error)}`);
      violations.check(g !== undefined && x.versions.stressA === x.version && x.versions.stressB === x.version, () => `execution ${x.execution_id}: versions ${JSON.stringify(x.versions)}`);
      violations.check(g !== undefined && JSON.stringify(x.log) === JSON.stringify(expectedLog(g)), () => `execution ${x.execution_id} v${x.version}: log ${JSON.stringify(x.log)}`);
    }
    const detail = await macros.get('stressA', 'macro', REWRITES + 5);
    report('macro', {
      rewrites: REWRITES,
      reloads_loaded: outcomes.loaded,
      reloads_timed_out: outcomes.timed_out,
      reload_errors: outcomes.other,
      executions: finished.length,
      executions_per_version: Object.fromEntries(byVersion),
      final_version: detail.version,
      observer_samples: observed.samples,
      samples_with_a_reload_waiting_for_executions: observed.reloads_seen_waiting,
      max_concurrent_executions: observed.max_running,
      violations: violations.count,
    });
    violations.assertNone();
    expect(outcomes.other).toEqual([]);
    expect(outcomes.loaded + outcomes.timed_out).toBe(REWRITES);
    // No reload lost: one new version per loaded rewrite, in order.
    expect(detail.version).toBe(1 + outcomes.loaded);
    expect(detail.content).toContain(`log A ${[...versionOf].find(([, v]) => v === detail.version)![0]}`);
    expect(finished.length).toBeGreaterThan(REWRITES);
    expect(observed.reloads_seen_waiting).toBeGreaterThan(0);
  });
});

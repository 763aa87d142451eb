import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/**
 * A full, compacting collection now, where nobody waits for it. The boot's rehearsal engine
 * leaves tens of MB of garbage behind; left alone V8 collects it with its first mark-compact
 * under the first bots, and on a busy core that marking stalled them 50–70 ms (bench/README.md,
 * "Cold start"). The boot calls this between the rehearsal and the engine's own warm-ups: a full
 * collection also drops optimized code only dead closures held, which those warm-ups then rebuild.
 * Node exposes `gc` only with --expose-gc; setting the flag at run time installs it in contexts
 * created afterwards, so one is made to fetch it. Returns false where that does not work.
 */
export function collectGarbageNow(): boolean {
  const gc = exposedGc();
  if (!gc) return false;
  gc();
  return true;
}

/**
 * Two young-generation collections now: everything still alive in the young generation is
 * promoted to the old one. The boot ends with this: what the engine built after the last full
 * collection (the application, its warm-ups' statements and caches) otherwise sits in the young
 * generation and is copied by the first two scavenges under the first bots, which took 12–24 ms
 * each instead of 2–3 (bench/README.md, "Old-generation churn"). Young collections leave
 * optimized code alone. Returns false where `gc` cannot be had.
 */
export function promoteSurvivorsNow(): boolean {
  const gc = exposedGc();
  if (!gc) return false;
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  return true;
}

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

function exposedGc(): GcFunction | undefined {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as GcFunction | undefined;
    } catch {
      return undefined;
    }
  }
  return typeof gc === 'function' ? gc : undefined;
}

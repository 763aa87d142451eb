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
  let gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as (() => void) | undefined;
    } catch {
      return false;
    }
  }
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The compiled entry of a worker thread: beside the caller when it runs from dist/, else (the
 * TypeScript sources under jest) the built copy in dist/ of the nearest ancestor. `srcDir` is the
 * caller's folder relative to the repository root, e.g. `src/common/database`.
 */
export function resolveWorkerEntry(callerDir: string, srcDir: string, fileName: string): string | undefined {
  const here = path.join(callerDir, fileName);
  if (fs.existsSync(here)) return here;
  let dir = callerDir;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', srcDir, fileName);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Every periodic job goes through PeriodicJobs (named in the SchedulerRegistry, listed by
 * `GET /api/v1/admin/jobs`, no overlap, stopped at shutdown). A bare `setInterval` added anywhere
 * else in src/ fails here: register it as a job instead (or, if it is truly not a periodic job of
 * the engine, add it to the allow-list with the reason).
 */
const ALLOWED: Record<string, string> = {
  'src/common/scheduling/periodic-jobs.ts': 'the one timer behind every job',
};

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(full, out);
    else if (/\.ts$/.test(entry.name) && !/\.(spec|test-kit)\.ts$/.test(entry.name)) out.push(full);
  }
  return out;
}

describe('periodic jobs are registered, never bare intervals', () => {
  const root = path.resolve(__dirname, '../../..');

  it('no setInterval( in src outside the allow-list', () => {
    const offenders = sources(path.join(root, 'src'))
      .map((file) => path.relative(root, file).split(path.sep).join('/'))
      .filter((rel) => !(rel in ALLOWED))
      .filter((rel) => /\bsetInterval\s*\(/.test(fs.readFileSync(path.join(root, rel), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    expect(offenders).toEqual([]);
  });

  it('the check sees a bare interval (it can fail)', () => {
    expect(/\bsetInterval\s*\(/.test('const t = setInterval(() => tick(), 1000);')).toBe(true);
  });
});

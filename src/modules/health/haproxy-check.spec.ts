import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../config/app-config';

/** deploy/haproxy.cfg's health check against what makes `/health/ready` answer 503 for a while. */
describe('deploy/haproxy.cfg health check', () => {
  const cfg = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'deploy', 'haproxy.cfg'), 'utf8');
  const seconds = (v: string) => (v.endsWith('ms') ? Number(v.slice(0, -2)) / 1000 : Number(v.replace(/s$/, '')));
  const setting = (name: string) => {
    const line = cfg.split('\n').find((l) => /^\s*default-server\b/.test(l));
    const m = line && new RegExp(`\\b${name}\\s+(\\S+)`).exec(line);
    if (!m) throw new Error(`deploy/haproxy.cfg: no default-server ${name}`);
    return m[1];
  };

  it('checks /health/ready', () => {
    expect(cfg).toMatch(/^\s*option httpchk GET \/health\/ready$/m);
  });

  it('leaves an instance only after failing longer than readiness stays 503 after one event-loop stall (the window) plus a stall of a few seconds', () => {
    const defaults = loadConfig({});
    const windowS = defaults.healthLoopDelayWindowMs / 1000;
    const timeoutCheck = seconds(/^\s*timeout check (\S+)$/m.exec(cfg)![1]);
    const fall = Number(setting('fall'));
    // From the first failed check on, checks come every fastinter: `fall` of them span (fall - 1) x fastinter.
    const span = (fall - 1) * Math.min(seconds(setting('inter')), seconds(setting('fastinter')));
    // 503 lasts the window after the stall, and checks sent during the stall fail too (time out).
    expect(span).toBeGreaterThan(windowS + timeoutCheck);
    // Still bounded: an instance that stays unready (a full disk, a stuck lock) is left within two lease TTLs.
    expect(span * 1000).toBeLessThan(2 * defaults.sessionLeaseTtlMs);
  });
});

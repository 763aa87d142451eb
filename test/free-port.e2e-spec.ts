import * as fs from 'node:fs';
import { freePort } from './support/engine';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
const describeLinux = fs.existsSync(RANGE_FILE) ? describe : describe.skip;

/**
 * A test that names COMPAT_PORT starts the engine with PORT=0. Had freePort released a port of
 * the kernel's ephemeral range, the kernel could give that same port to the engine's PORT=0
 * listener, and the COMPAT_PORT listener then failed with EADDRINUSE (seen once in CI).
 */
describeLinux('freePort', () => {
  const [low] = fs.readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);

  it('names ports below the kernel ephemeral range, never one a PORT=0 listener can be given', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low);
    }
  });
});

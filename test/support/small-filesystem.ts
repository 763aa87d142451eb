import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * A really small file system for disk-full tests: a tmpfs of `sizeBytes` mounted in a private
 * mount namespace (in a user namespace, so no root is needed where the kernel allows
 * unprivileged user namespaces; as root it always works). A holder process keeps the namespace
 * (and the tmpfs) alive; processes started with `wrap` run inside it and see the tmpfs at `dir`,
 * the test reaches it through the holder's root (`/proc/<pid>/root`). Nothing is mounted where
 * anything else can see it, and the tmpfs disappears with the holder.
 */
export interface SmallFilesystem {
  /** Where processes inside the namespace see the tmpfs. */
  readonly dir: string;
  /** Command prefix that runs a process inside the namespace, in the folder `cwd`. */
  readonly wrap: string[];
  /** The same path as the test sees it. */
  outside(p: string): string;
  /** Writes a filler file until the file system is full; resolves with the bytes it took. */
  fill(): number;
  /** Deletes the filler. */
  free(): void;
  close(): Promise<void>;
}

export async function mountSmallFilesystem(dir: string, sizeBytes: number, cwd: string): Promise<SmallFilesystem | { unavailable: string }> {
  fs.mkdirSync(dir, { recursive: true });
  let holder: ChildProcess;
  try {
    holder = spawn('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${sizeBytes} tmpfs "$0" && echo mounted && exec cat`, dir], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    return { unavailable: `unshare: ${String(err)}` };
  }
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  let output = '';
  const ready = await new Promise<boolean>((resolve) => {
    holder.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      if (output.includes('mounted')) resolve(true);
    });
    holder.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    holder.once('error', (err) => {
      output += String(err);
      resolve(false);
    });
    void exited.then(() => resolve(false));
  });
  if (!ready) return { unavailable: `could not mount a tmpfs in a user and mount namespace: ${output.trim() || 'unshare failed'}` };
  const pid = holder.pid!;
  const outside = (p: string) => `/proc/${pid}/root${p}`;
  const filler = outside(`${dir}/filler`);
  return {
    dir,
    // --wd: entering a mount namespace otherwise leaves the process in its root folder.
    wrap: ['nsenter', '-t', String(pid), '-U', '-m', '--preserve-credentials', `--wd=${cwd}`, '--'],
    outside,
    fill() {
      const fd = fs.openSync(filler, 'a');
      let written = 0;
      try {
        for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9]) {
          const chunk = Buffer.alloc(size, 1);
          for (;;) {
            try {
              written += fs.writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return written;
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    async close() {
      holder.stdin!.end();
      holder.kill('SIGTERM');
      await exited;
    },
  };
}

/** Helpers of the stress suite: what each scenario checked, printed; bounded waits; loop turns. */

/** Prints one scenario's figures on its own line (jest shows stdout of the run). */
export function report(scenario: string, checked: Record<string, unknown>): void {
  process.stdout.write(`[stress] ${scenario}: ${JSON.stringify(checked)}\n`);
}

/** One turn of the event loop, so concurrent flows interleave at I/O granularity. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `promise`, or a rejection naming `what` once `ms` have passed: no wait of the suite is unbounded. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `read` until `done` holds, at most `ms`; fails with the last value otherwise. */
export async function until<T>(what: string, read: () => T | Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 20));
    last = await read();
  }
  return last;
}

/** Collects invariant violations (the first ones in full, the rest counted) and fails loudly at the end. */
export class Violations {
  private readonly first: string[] = [];
  count = 0;

  constructor(private readonly scenario: string) {}

  check(ok: boolean, describe: () => string): void {
    if (ok) return;
    this.count++;
    if (this.first.length < 10) this.first.push(describe());
  }

  assertNone(): void {
    if (this.count === 0) return;
    throw new Error(`${this.scenario}: ${this.count} invariant violation(s), first ones:\n  ${this.first.join('\n  ')}`);
  }
}

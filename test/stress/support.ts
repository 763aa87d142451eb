/** Helpers of the stress suite: what each scenario checked, printed; bounded waits; loop turns. (Polling for a condition: src/common/testing/wait.test-kit.) */

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

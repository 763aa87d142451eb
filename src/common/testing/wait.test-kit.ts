/**
 * Awaiting a condition in tests: poll on real timers until it holds or a deadline passes, then
 * fail naming what was awaited. (Specs under fake timers or waiting on microtasks poll their own way.)
 */
export async function until(cond: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 15_000, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Reads until `done(value)` holds; returns that value. The error shows the last value read. */
export async function untilValue<T>(read: () => T | Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 15_000, pollMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, pollMs));
    last = await read();
  }
  return last;
}

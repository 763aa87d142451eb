/** One turn of the event loop: I/O and timers due get served before the caller goes on. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rests `ms` (a timer); 0: one turn of the event loop. */
export function restFor(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : yieldToLoop();
}

/**
 * Waits for `promise` to settle, at most `ms`: true if it settled (fulfilled or rejected — its
 * outcome is the caller's business elsewhere), false if the time ran out. The timer is cleared
 * either way, so a shutdown that used it leaves nothing behind.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

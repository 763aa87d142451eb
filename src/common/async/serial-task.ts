/**
 * A background job (a flush) that runs one at a time. A call while it runs does not join the
 * run already going — that run may have collected its work before the caller's change — but
 * the one queued after it (shared by every call made meanwhile). So when a caller's promise
 * settles, a run that started after the call has finished: what it changed before calling is
 * covered. A failed run fails its callers and does not stop the next one.
 */
export class SerialTask<R = void> {
  private running: Promise<R> | undefined;
  private queued: Promise<R> | undefined;

  constructor(private readonly job: () => Promise<R>) {}

  run(): Promise<R> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  /** The run going now, if any (starts nothing). */
  get current(): Promise<R> | undefined {
    return this.running;
  }

  private start(): Promise<R> {
    const run: Promise<R> = this.job().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}

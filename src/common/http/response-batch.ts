import type { ServerResponse } from 'node:http';

/**
 * Ends responses together, once the event loop has read what its sockets had ready (a turn's
 * check phase), instead of each the moment its handler is done.
 *
 * Why: over loopback a response's write also wakes its client. When the engine is the slower
 * side its clients sleep between answers, and each wake-up is paid inside the engine's `writev`
 * (an inter-processor interrupt; a VM exit on a virtual machine): ~18 µs of the engine's core
 * per response on the bench machine (bench/README.md, "Waking the client"). Written back to back,
 * one wake-up serves the whole batch. A response waits at most for the rest of its turn's
 * requests; one that is alone in its turn is ended in the same turn.
 */
export class ResponseBatch {
  private responses: ServerResponse[] = [];
  private payloads: Array<string | Buffer> = [];
  private scheduled = false;

  /** Ends `res` with `data` in this turn's batch. Its status and headers must already be set. */
  end(res: ServerResponse, data: string | Buffer): void {
    this.responses.push(res);
    this.payloads.push(data);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Responses waiting for the batch's end (tests). */
  get size(): number {
    return this.responses.length;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const responses = this.responses;
    const payloads = this.payloads;
    this.responses = [];
    this.payloads = [];
    for (let i = 0; i < responses.length; i++) {
      const res = responses[i];
      // One response that cannot be ended (its socket torn down under it) must not keep the
      // batch's others from theirs.
      try {
        res.end(payloads[i]);
      } catch {
        if (!res.destroyed) res.destroy();
      }
    }
  };
}


import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const logger = new Logger('HTTP');

/**
 * Per connection, what waits for it to close: one listener per socket, not one per request.
 * An array, not a Set: a keep-alive connection outlives many requests, and a Set emptied and
 * refilled by each of them had V8 reallocate its table in the old generation every time
 * (bench/README.md, "Old-generation churn"). It holds one or two entries per request in flight.
 */
const waiting = new WeakMap<Socket, Array<() => void>>();

/** @internal Waiters a connection holds now (tests: nothing stays behind a finished request). */
export function closeWaiterCount(socket: Socket): number {
  return waiting.get(socket)?.length ?? 0;
}

/**
 * True once the request's connection is gone (or its response closed). Not `req.destroyed`: on
 * Node 20 an IncomingMessage is destroyed as soon as its body has been read.
 */
export function connectionGone(req: IncomingMessage, res: ServerResponse): boolean {
  const socket = req.socket as Socket | null;
  return res.closed || res.destroyed || !socket || socket.destroyed;
}

/**
 * Calls `fn` once, when the request is over for the server: its response closed (sent, or its
 * client gone) — or its connection closed first. A response queued behind another on a
 * pipelined connection never emits 'close' of its own when the client drops the connection,
 * and whatever it holds (a session turn, an in-flight count) would be held forever.
 * Returns a canceller (safe to call twice; does not call `fn`).
 */
export function onResponseDone(req: IncomingMessage, res: ServerResponse, fn: () => void): () => void {
  const socket = req.socket as Socket | null;
  let pending = true;
  const cancel = () => {
    if (!pending) return;
    pending = false;
    res.off('close', done);
    const waiters = waiting.get(socket!);
    const at = waiters ? waiters.indexOf(done) : -1;
    if (at >= 0) waiters!.splice(at, 1);
  };
  function done(): void {
    if (!pending) return;
    cancel();
    // Called from a socket event: a throwing callback must neither crash the process nor keep
    // the connection's other waiters from running (each may hold a session turn).
    try {
      fn();
    } catch (err) {
      logger.error({ err }, 'response-done callback failed');
    }
  }
  if (connectionGone(req, res)) {
    done();
    return () => undefined;
  }
  res.once('close', done);
  const conn = socket!;
  let list = waiting.get(conn);
  if (!list) {
    const waiters: Array<() => void> = [];
    list = waiters;
    waiting.set(conn, waiters);
    conn.once('close', () => {
      waiting.delete(conn);
      // Each call removes itself from the array: walk a copy.
      for (const f of waiters.slice()) f();
    });
  }
  list.push(done);
  return cancel;
}

/** The status a request ended with: what was sent, or 499 (nginx's "client closed request") when nothing was. */
export const CLIENT_CLOSED_REQUEST = 499;

export function finalStatus(res: ServerResponse): number {
  return res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
}

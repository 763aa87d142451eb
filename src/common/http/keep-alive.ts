import type * as http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Node closes an idle keep-alive connection from a timer (its keep-alive timeout, plus a
 * margin). After the event loop was blocked — a long synchronous step, a GC pause, the core
 * taken away — the next loop turn runs expired timers *before* it polls the sockets: the
 * connection was closed with its client's next request already in its receive buffer, unread,
 * and the client got ECONNRESET instead of an answer.
 *
 * With a `timeout` listener on the server Node leaves the closing to it (socketOnTimeout): this
 * one waits past the poll phase (setImmediate) and closes the connection only if nothing was
 * read from it meanwhile. A request that did arrive is served: Node resets its keep-alive timer
 * when the request starts, and re-arms it once the response is done. A partial request
 * refreshes the socket's timer as it is read (and headersTimeout bounds it).
 */
export function closeIdleConnectionsAfterPolling(server: http.Server): void {
  server.on('timeout', (socket: Socket) => {
    const read = socket.bytesRead;
    setImmediate(() => {
      if (!socket.destroyed && socket.bytesRead === read) socket.destroy();
    });
  });
}

/**
 * The engine's keep-alive policy for one of its servers: idle connections are kept for
 * `keepAliveTimeoutMs` (Node announces it as `Keep-Alive: timeout=`, in seconds) and closed only
 * after the sockets were polled (above).
 *
 * Long on purpose. Closing an idle connection races with the client's next request on it, and
 * only the client can avoid that race: undici drops an idle connection 2 s before the announced
 * timeout, Node closes it 1 s after — but the client's clock starts when it has *processed* the
 * response, the server's when it sent it. A client process that stalled for more than those 3 s
 * (a starved core, a GC pause) with a response waiting reuses a connection the engine has closed
 * already: its request, which the engine never read, fails ("other side closed") and is not
 * retried (a POST). With Node's default of 5 s any connection left idle through such a stall is
 * exposed; at 72 s only one idle for over a minute is.
 */
export function applyKeepAlivePolicy(server: http.Server, keepAliveTimeoutMs: number): void {
  server.keepAliveTimeout = keepAliveTimeoutMs;
  closeIdleConnectionsAfterPolling(server);
}

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

import { PassThrough } from 'node:stream';
import { AppError } from '../../common/errors/app.error';

/**
 * A console asked for a stream while every one is taken: the page falls back to polling. A busy
 * resource (409 BUSY), not an engine failure: nothing is wrong on the server side.
 */
export class ConsoleStreamsFullError extends AppError {
  readonly code = 'BUSY';
  readonly status = 409;
  constructor(max: number) {
    super(`All ${max} console streams are open; poll GET /api/v1/console/summary instead`, { reason: 'console_streams_full', max_streams: max });
  }
}

/** One open console: the body of its event-stream response. */
export interface ConsoleStream {
  readonly body: PassThrough;
  readonly id: number;
  /** Ends the response (the client sees the stream end and reconnects). */
  end(): void;
}

/**
 * A client that reads slower than this many bytes behind is dropped rather than buffered without
 * bound (it reconnects and starts again from a fresh summary).
 */
export const MAX_UNREAD_BYTES = 1 << 20;

/**
 * The open console streams: bounded in number, one serialized event written to all of them, all
 * ended at once at shutdown (an event stream never finishes on its own, and the engine's drain
 * must not wait for it).
 */
export class ConsoleStreamHub {
  private readonly streams = new Map<number, ConsoleStream>();
  private nextId = 1;
  private closed = false;
  dropped = 0;

  constructor(readonly maxStreams: number) {}

  get size(): number {
    return this.streams.size;
  }

  /** A new stream, or ConsoleStreamsFullError at the limit (and after close). */
  open(): ConsoleStream {
    if (this.closed || this.streams.size >= this.maxStreams) throw new ConsoleStreamsFullError(this.maxStreams);
    const id = this.nextId++;
    const body = new PassThrough();
    const stream: ConsoleStream = {
      id,
      body,
      end: () => {
        this.streams.delete(id);
        if (!body.writableEnded) body.end();
      },
    };
    // The response closes (client gone, or ended here): forget the stream either way.
    body.once('close', () => this.streams.delete(id));
    body.once('error', () => this.streams.delete(id));
    this.streams.set(id, stream);
    return stream;
  }

  /** Writes one event to a stream; a stream too far behind is ended instead. */
  send(stream: ConsoleStream, event: string, data: string): void {
    if (stream.body.writableEnded || stream.body.destroyed) return;
    if (stream.body.writableLength > MAX_UNREAD_BYTES) {
      this.dropped += 1;
      stream.end();
      return;
    }
    stream.body.write(formatEvent(event, data));
  }

  broadcast(event: string, data: string): void {
    if (this.streams.size === 0) return;
    const frame = formatEvent(event, data);
    for (const stream of [...this.streams.values()]) {
      if (stream.body.writableEnded || stream.body.destroyed) continue;
      if (stream.body.writableLength > MAX_UNREAD_BYTES) {
        this.dropped += 1;
        stream.end();
        continue;
      }
      stream.body.write(frame);
    }
  }

  /** Ends every stream and refuses new ones. */
  closeAll(): void {
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.end();
  }
}

/** One Server-Sent Events frame; `data` is single-line JSON (JSON.stringify escapes newlines). */
export function formatEvent(event: string, data: string): string {
  if (/[\r\n]/.test(event) || /[\r\n]/.test(data)) throw new Error('an event name or data line must be a single line');
  return `event: ${event}\ndata: ${data}\n\n`;
}

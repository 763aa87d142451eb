/**
 * Open-loop load shaped like a bot farm: each session is one bot on its own keep-alive
 * connection, ticking every 1000/rate ms and waiting for each answer before its next tick
 * (the plugin is synchronous per bot). Bots start at evenly spread phases, as independent
 * bots do; autocannon starts every connection in phase, which measures one burst of N
 * requests per tick period instead.
 *
 * Latency runs from the moment the tick was due when the bot was still waiting for its
 * previous answer (coordinated omission counted, not hidden), else from the moment it was
 * sent (this process's own timer lateness is not the server's).
 */
import * as net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { percentile } from '../src/modules/metrics';

export interface TickLoadOptions {
  url: string;
  sessions: number;
  ticksPerSecond: number;
  seconds: number;
  body: (session: number) => string;
  /** Also report the ticks due before / from this many seconds apart (`head` / `tail`). */
  splitAtSeconds?: number;
  /**
   * Open every bot's connection before the clock starts, as a farm that is already running has
   * them. Default false: each bot connects at its first tick, inside the measurement (a herd).
   */
  connectFirst?: boolean;
  /** Called with every answer: when its tick was due (ms from the start), its latency, its status (0: no answer), the bot. */
  onSample?: (dueMs: number, latencyMs: number, status: number, session: number) => void;
}

export interface LatencySummary {
  total: number;
  p50: number;
  p99: number;
  max: number;
}

export interface TickLoadResult {
  rps: number;
  total: number;
  errors: number;
  non2xx: number;
  /** Connections opened (one per bot when the server keeps them alive). */
  connections: number;
  p50: number;
  p99: number;
  max: number;
  /** This process's own worst event-loop delay during the run (ms): a stall here is charged to the server. */
  generatorLoopMax: number;
  /** Ticks due before `splitAtSeconds`, and from it on. */
  head?: LatencySummary;
  tail?: LatencySummary;
}

/** A request unanswered this long counts as an error (its bot goes on ticking). */
const REQUEST_TIMEOUT_MS = 10_000;

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;

/**
 * The generator speaks HTTP/1.1 over plain sockets (one per bot, the request prebuilt, the
 * answer read by its Content-Length) rather than through node:http's client. That client
 * allocates several kilobytes per exchange; at a farm's 2,000 ticks a second its own
 * scavenges paused this process 20–40 ms every few hundred milliseconds, and each pause was
 * charged to the server as latency. The server sees the same bytes a bot's HTTP::Tiny sends.
 */
export async function tickLoad(options: TickLoadOptions): Promise<TickLoadResult> {
  const target = new URL(options.url);
  const port = Number(target.port || 80);
  const periodMs = 1000 / options.ticksPerSecond;
  const latencies: number[] = [];
  /** When each measured tick was due (or sent), ms from the start. */
  const dueAt: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let connections = 0;
  const dial = (): net.Socket => net.connect({ host: target.hostname, port, noDelay: true });
  const opened = options.connectFirst ? await connectAll(options.sessions, dial) : undefined;
  if (opened) connections += opened.length;
  const ownDelay = monitorEventLoopDelay({ resolution: 5 });
  ownDelay.enable();
  const started = performance.now();
  const endAt = started + options.seconds * 1000;

  const bot = (session: number) =>
    new Promise<void>((resolve) => {
      const body = Buffer.from(options.body(session));
      const request = Buffer.concat([
        Buffer.from(
          `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
        ),
        body,
      ]);
      let socket: net.Socket | undefined;
      let due = started + (periodMs * session) / options.sessions;
      let previousDone = 0;
      /** The tick in flight: when its latency counts from; undefined between ticks. */
      let from: number | undefined;
      let received: Buffer | undefined;
      let timer: NodeJS.Timeout | undefined;

      const finish = (status: number, keep: boolean): void => {
        if (from === undefined) return;
        if (timer) clearTimeout(timer);
        timer = undefined;
        previousDone = performance.now();
        if (status === 0) errors++;
        else {
          if (status < 200 || status >= 300) non2xx++;
          latencies.push(previousDone - from);
          dueAt.push(from - started);
        }
        options.onSample?.(from - started, previousDone - from, status, session);
        from = undefined;
        received = undefined;
        if (!keep) drop();
        schedule();
      };

      const drop = (): void => {
        const s = socket;
        socket = undefined;
        s?.destroy();
      };

      const onData = (chunk: Buffer): void => {
        if (from === undefined) return; // nothing asked: ignore (the server closes such a connection anyway)
        received = received ? Buffer.concat([received, chunk]) : chunk;
        const headerEnd = received.indexOf(HEADER_END);
        if (headerEnd < 0) return;
        const head = received.toString('latin1', 0, headerEnd);
        const length = CONTENT_LENGTH.exec(head);
        if (!length) return finish(0, false); // no length: this generator cannot frame it
        if (received.length < headerEnd + 4 + Number(length[1])) return;
        finish(Number(head.slice(9, 12)) || 0, !CONNECTION_CLOSE.test(head));
      };

      const connect = (): net.Socket => {
        connections++;
        return attach(dial());
      };

      const attach = (s: net.Socket): net.Socket => {
        s.on('data', onData);
        // A connection lost with a tick in flight is that tick's error; between ticks, the next opens another.
        s.on('error', () => undefined);
        s.on('close', () => {
          if (socket === s) socket = undefined;
          if (from !== undefined) finish(0, false);
        });
        return s;
      };

      const tick = (): void => {
        const now = performance.now();
        if (now >= endAt) {
          drop();
          resolve();
          return;
        }
        from = previousDone > due ? due : now;
        socket ??= connect();
        timer = setTimeout(() => finish(0, false), REQUEST_TIMEOUT_MS);
        socket.write(request);
      };

      const schedule = (): void => {
        due += periodMs;
        const wait = due - performance.now();
        // Behind schedule, the next tick still waits for this turn's other callbacks.
        if (wait <= 0) setImmediate(tick);
        else setTimeout(tick, wait);
      };

      if (opened) socket = attach(opened[session]);
      setTimeout(tick, Math.max(0, due - performance.now()));
    });

  await Promise.all(Array.from({ length: options.sessions }, (_, i) => bot(i)));
  ownDelay.disable();
  const elapsed = (performance.now() - started) / 1000;
  const generatorLoopMax = Math.round((ownDelay.max / 1e6) * 100) / 100;
  const result: TickLoadResult = { rps: latencies.length / elapsed, errors, non2xx, connections, generatorLoopMax, ...summarize(latencies) };
  if (options.splitAtSeconds !== undefined) {
    const split = options.splitAtSeconds * 1000;
    result.head = summarize(latencies.filter((_, i) => dueAt[i] < split));
    result.tail = summarize(latencies.filter((_, i) => dueAt[i] >= split));
  }
  return result;
}

/** `count` connected sockets; if one is refused, every other is closed and the error thrown. */
async function connectAll(count: number, dial: () => net.Socket): Promise<net.Socket[]> {
  const sockets = Array.from({ length: count }, dial);
  const connected = await Promise.allSettled(
    sockets.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          s.once('connect', () => {
            s.off('error', reject);
            resolve();
          });
          s.once('error', reject);
        }),
    ),
  );
  const failed = connected.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (!failed) return sockets;
  for (const s of sockets) s.destroy();
  throw failed.reason;
}

function summarize(latencies: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    total: sorted.length,
    p50: round(percentile(sorted, 50) ?? 0),
    p99: round(percentile(sorted, 99) ?? 0),
    max: round(sorted.length ? sorted[sorted.length - 1] : 0),
  };
}

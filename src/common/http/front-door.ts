import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type AccessLine, accessLogLevel, logRequestCompleted, REQUEST_ID_LOG_LABEL, responseTimeMs } from '../logging/access-log.controller';
import { lazyRequestLogger } from '../logging/lazy-child.logger';
import { errorReply } from './all-exceptions.filter';
import { assertBearer } from './auth.guard';
import type { LeanReply, LeanRequest } from './http-exchange';
import type { LeanRouteEntry } from './lean-route';
import type { RateLimiter } from './rate-limiter';
import { genRequestId } from './request-id';
import { connectionGone, finalStatus, onResponseDone } from './response-done';
import type { RequestStats } from './request-stats';

export interface FrontDoorOptions {
  /** The lean routes by "METHOD /url" (installLeanRoutes). */
  readonly routes: ReadonlyMap<string, LeanRouteEntry>;
  /** The engine's JSON body parse (createJsonBodyReader): same errors as Fastify's path. */
  readonly readJson: (body: Buffer) => unknown;
  readonly maxBodyBytes: number;
  readonly tokenDigest: Buffer | undefined;
  readonly limiter: RateLimiter;
  readonly stats: RequestStats;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
}

/** Takes the request (true) or leaves it untouched for Fastify (false). */
export type FrontDoor = (req: IncomingMessage, res: ServerResponse) => boolean;

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const DECIMAL = /^\d{1,10}$/;

class FrontDoorReply implements LeanReply {
  statusCode = 200;
  readonly headers: Record<string, string> = {};

  constructor(
    readonly raw: ServerResponse,
    private readonly startedAt: number,
  ) {}

  get elapsedTime(): number {
    return performance.now() - this.startedAt;
  }

  code(statusCode: number): this {
    this.statusCode = statusCode;
    return this;
  }

  header(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }
}

/**
 * The hot routes (@LeanRoute: the plugin's decide, POST /state) served straight off Node's
 * server, before Fastify: at a farm's tick rate Fastify's routing and the global hooks every
 * route needs (Nest's middleware runner, ours) cost as much as the decision itself.
 *
 * Only a request that needs nothing else is taken: the exact path, a JSON body with a
 * Content-Length within the limit, not chunked, no `Expect`, a valid token, inside the rate
 * limit, the engine not draining. Anything else — and every error that can be known before the
 * body is read (401, 429, 413, 415, 503) — goes to Fastify untouched, which answers it as for
 * every other route. Once the body is read, errors become the same envelope through the same
 * mapping as Nest's global filter (`errorReply`); the request is counted, timed, observed by the
 * metrics and access-logged like one through Fastify, with the same request id rules.
 */
export function createFrontDoor(options: FrontDoorOptions): FrontDoor {
  const { routes, readJson, maxBodyBytes, tokenDigest, limiter, stats, logger, isDraining } = options;

  const accepts = (req: IncomingMessage, entry: LeanRouteEntry): boolean => {
    const headers = req.headers;
    const type = headers['content-type'];
    if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return false;
    const length = headers['content-length'];
    if (length === undefined || !DECIMAL.test(length)) return false;
    const bytes = Number(length);
    if (bytes === 0 || bytes > maxBodyBytes) return false;
    if (headers['transfer-encoding'] !== undefined || headers.expect !== undefined) return false;
    if (isDraining()) return false;
    if (tokenDigest !== undefined && !entry.isPublic) {
      try {
        assertBearer(headers.authorization, tokenDigest);
      } catch {
        return false;
      }
    }
    if (limiter.enabled) {
      try {
        limiter.take(req.socket.remoteAddress ?? '');
      } catch {
        // Fastify's hook takes again from the same empty bucket and answers the 429.
        return false;
      }
    }
    return true;
  };

  // By path, then method: no key string built per request.
  const byUrl = new Map<string, Map<string, LeanRouteEntry>>();
  for (const entry of routes.values()) {
    let methods = byUrl.get(entry.url);
    if (!methods) byUrl.set(entry.url, (methods = new Map()));
    methods.set(entry.method, entry);
  }

  return (req, res) => {
    const url = req.url;
    if (url === undefined) return false;
    const entry = byUrl.get(url)?.get(req.method ?? '');
    if (entry === undefined || !accepts(req, entry)) return false;
    serve(req, res, entry);
    return true;
  };

  function serve(req: IncomingMessage, res: ServerResponse, entry: LeanRouteEntry): void {
    const startedAt = performance.now();
    const id = genRequestId(req);
    const reply = new FrontDoorReply(res, startedAt);
    stats.started();
    onResponseDone(req, res, () => {
      const elapsed = performance.now() - startedAt;
      const status = finalStatus(res);
      stats.finished(entry.method, entry.url, status, elapsed);
      // Like Fastify's: one line per response sent; a client gone first gets none.
      if (!res.writableFinished || !logger.isLevelEnabled(accessLogLevel(status, undefined))) return;
      const line: AccessLine = { method: entry.method, url: entry.url, status, response_time_ms: responseTimeMs(elapsed) };
      try {
        logRequestCompleted(lazyRequestLogger(logger, { [REQUEST_ID_LOG_LABEL]: id }), line, undefined);
      } catch {
        // A broken log stream must not take the process down from a socket event.
      }
    });

    const sendError = (exception: unknown): void => {
      const { status, headers, body } = errorReply(exception, id, req.url);
      write(status, headers, body);
    };
    const write = (status: number, headers: Record<string, string>, payload: unknown): void => {
      // (A response queued behind another on a connection already gone is not destroyed itself.)
      if (res.headersSent || connectionGone(req, res)) return;
      const [type, data] = serialize(payload);
      const out: Record<string, string | number> = { ...headers, 'x-request-id': id, 'content-length': Buffer.byteLength(data) };
      if (type !== undefined) out['content-type'] = type;
      if (isDraining()) out.connection = 'close';
      res.writeHead(status, out);
      res.end(data);
    };
    /** Whatever went wrong answering: the client gets a reset rather than a response that never ends. */
    const abort = (): void => {
      if (!res.destroyed) res.destroy();
    };

    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    // A client that goes away mid-body: nothing to answer; onResponseDone above still counts it.
    req.on('error', () => undefined);
    req.on('end', () => {
      let body: unknown;
      try {
        body = readJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      } catch (err) {
        try {
          sendError(err);
        } catch {
          abort();
        }
        return;
      }
      const request: LeanRequest = { id, body, headers: req.headers, params: {}, raw: req };
      let handled: Promise<unknown>;
      try {
        handled = entry.handler(request, reply);
      } catch (err) {
        handled = Promise.reject(err);
      }
      handled
        .then(
          (payload) => {
            try {
              write(reply.statusCode, reply.headers, payload);
            } catch (err) {
              if (res.headersSent) throw err;
              sendError(err);
            }
          },
          (err: unknown) => sendError(err),
        )
        .catch(abort);
    });
  }
}

/** What Fastify's reply.send does with a handler's result, for the types a handler returns. */
function serialize(payload: unknown): [type: string | undefined, data: string | Buffer] {
  if (payload === undefined) return [undefined, ''];
  if (typeof payload === 'string') return ['text/plain; charset=utf-8', payload];
  if (Buffer.isBuffer(payload)) return ['application/octet-stream', payload];
  return ['application/json; charset=utf-8', JSON.stringify(payload)];
}

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendError } from './all-exceptions.filter';
import type { PipelineReply, PipelineRequest } from './http-exchange';
import type { PipelineRouteConfig } from './public.decorator';
import type { RequestPipeline } from './request-pipeline';
import { genRequestId } from './request-id';
import { ResponseBatch } from './response-batch';
import { RequestRun } from './request-run';
import { connectionGone } from './response-done';
import type { RouteEntry } from './route-table';

export interface FrontDoorOptions {
  readonly pipeline: RequestPipeline;
  /** The engine's JSON body parse (createJsonBodyReader): the same errors as Fastify's path. */
  readonly readJson: (body: Buffer) => unknown;
  readonly maxBodyBytes: number;
  /** What Fastify passes route handlers as `this` (the server instance). */
  readonly server: unknown;
  /** End responses in batches, one per turn of the event loop (ResponseBatch); default true. */
  readonly batchResponses?: boolean;
}

/** Takes the request (true) or leaves it untouched for Fastify (false). */
export type FrontDoor = (req: IncomingMessage, res: ServerResponse) => boolean;

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const DECIMAL = /^\d{1,10}$/;
const EMPTY = Object.freeze({});

/** The request as the pipeline, its guards and Nest's parameter decorators read it (Fastify's shape). */
class FrontDoorRequest implements PipelineRequest {
  body: unknown = undefined;
  readonly params = EMPTY;
  readonly query = EMPTY;
  readonly routeOptions: { readonly url: string; readonly method: string; readonly config: PipelineRouteConfig };

  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
    entry: RouteEntry,
  ) {
    this.routeOptions = { url: entry.url, method: entry.method, config: entry.config };
  }

  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }
  get method(): string {
    return this.raw.method ?? '';
  }
  get url(): string {
    return this.raw.url ?? '';
  }
  get ip(): string | undefined {
    return this.raw.socket?.remoteAddress;
  }
}

/**
 * The part of Fastify's reply that the pipeline's stages use (Nest's adapter: status, headers,
 * send; the error stage; a handler's `@Res({ passthrough: true })`), writing straight to Node's
 * response with Fastify's serialization rules for the payloads a route returns.
 */
class FrontDoorReply implements PipelineReply {
  statusCode = 200;
  private readonly headerValues: Record<string, string> = {};
  private done = false;

  constructor(
    readonly raw: ServerResponse,
    readonly request: FrontDoorRequest,
    private readonly startedAt: number,
    private readonly batch: ResponseBatch | undefined,
  ) {}

  get elapsedTime(): number {
    return performance.now() - this.startedAt;
  }

  get sent(): boolean {
    return this.done || this.raw.headersSent;
  }

  code(statusCode: number): this {
    this.statusCode = statusCode;
    return this;
  }

  status(statusCode: number): this {
    return this.code(statusCode);
  }

  header(name: string, value: string): this {
    this.headerValues[name.toLowerCase()] = String(value);
    return this;
  }

  headers(values: Record<string, string>): this {
    for (const name in values) this.header(name, values[name]);
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.headerValues[name.toLowerCase()];
  }

  getHeaders(): Record<string, string> {
    return { ...this.headerValues };
  }

  hasHeader(name: string): boolean {
    return this.getHeader(name) !== undefined;
  }

  removeHeader(name: string): this {
    delete this.headerValues[name.toLowerCase()];
    return this;
  }

  type(contentType: string): this {
    return this.header('content-type', contentType);
  }

  send(payload?: unknown): this {
    if (this.sent) return this;
    // Serialized first: a payload that cannot be (a cycle) throws with the reply still unsent,
    // so the error stage can answer instead.
    const [type, data] = serialize(payload);
    // A response queued behind another on a connection already gone is not destroyed itself.
    if (connectionGone(this.request.raw, this.raw)) {
      this.done = true;
      return this;
    }
    const out: OutgoingHttpHeaders = { ...this.headerValues, 'content-length': Buffer.byteLength(data) };
    if (type !== undefined && out['content-type'] === undefined) out['content-type'] = type;
    // Headers stored now: an invalid one throws here, with the reply still unsent, so the error
    // stage answers. The bytes go out with the turn's batch.
    this.raw.writeHead(this.statusCode, out);
    this.done = true;
    if (this.batch) {
      this.batch.end(this.raw, data);
      // The answer is final: for the session's turn it is sent. Waiting for the batch's write
      // would keep the session's next request (another connection of the same bot) queued
      // behind bytes that no longer depend on anything.
      RequestRun.of(this.request)?.turn?.closed();
    } else {
      this.raw.end(data);
    }
    return this;
  }
}

/** What Fastify's reply.send does with a handler's result, for the types a route returns. */
function serialize(payload: unknown): [type: string | undefined, data: string | Buffer] {
  if (payload === undefined) return [undefined, ''];
  if (typeof payload === 'string') return ['text/plain; charset=utf-8', payload];
  if (Buffer.isBuffer(payload)) return ['application/octet-stream', payload];
  return ['application/json; charset=utf-8', JSON.stringify(payload)];
}

/**
 * The per-tick routes (@FrontDoor: the plugin's decide, POST /state) taken off Node's server
 * before Fastify: at a farm's tick rate Fastify's per-request machinery (routing, Nest's and
 * Fastify's hooks, its request and reply objects) costs as much as the decision itself.
 *
 * It only replaces the transport: a request with nothing unusual about it (that exact path, a
 * JSON body with a Content-Length within the limit, not chunked, no `Expect`) goes through the
 * same request pipeline as one through Fastify — the same observation and admission, then the
 * same route handler Fastify would run (Nest's guards, interceptors, pipes, handler, reply and
 * error stages); anything else is left to Fastify untouched. `HTTP_FRONT_DOOR=0` turns it off.
 */
export function createFrontDoor(options: FrontDoorOptions): FrontDoor {
  const { pipeline, readJson, maxBodyBytes, server } = options;
  const batch = options.batchResponses === false ? undefined : new ResponseBatch();

  // By path, then method: no key string built per request.
  const byUrl = new Map<string, Map<string, RouteEntry>>();
  for (const entry of pipeline.routes.all()) {
    if (entry.config.frontDoor !== true) continue;
    if (entry.url.includes(':') || entry.url.includes('*')) throw new Error(`@FrontDoor route ${entry.method} ${entry.url}: only exact paths can be served by the front door`);
    let methods = byUrl.get(entry.url);
    if (!methods) byUrl.set(entry.url, (methods = new Map()));
    methods.set(entry.method, entry);
  }

  const plainTransport = (req: IncomingMessage): boolean => {
    const headers = req.headers;
    const type = headers['content-type'];
    if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return false;
    const length = headers['content-length'];
    if (length === undefined || !DECIMAL.test(length)) return false;
    const bytes = Number(length);
    if (bytes === 0 || bytes > maxBodyBytes) return false;
    return headers['transfer-encoding'] === undefined && headers.expect === undefined;
  };

  return (req, res) => {
    const url = req.url;
    if (url === undefined) return false;
    const entry = byUrl.get(url)?.get(req.method ?? '');
    if (entry === undefined || !plainTransport(req)) return false;
    serve(req, res, entry);
    return true;
  };

  function serve(req: IncomingMessage, res: ServerResponse, entry: RouteEntry): void {
    const startedAt = performance.now();
    const request = new FrontDoorRequest(genRequestId(req), req, entry);
    const reply = new FrontDoorReply(res, request, startedAt, batch);
    /** Whatever went wrong answering: the client gets a reset rather than a response that never ends. */
    const fail = (err: unknown): void => {
      try {
        sendError(err, request, reply);
      } catch {
        if (!res.destroyed) res.destroy();
      }
    };

    pipeline.observe(req, res, request.id, entry.url);
    try {
      pipeline.admit(req, entry.url);
    } catch (err) {
      // Node reads and drops the unread body before the connection's next request.
      fail(err);
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    // A client that goes away mid-body: nothing to answer; the observation still counts it.
    req.on('error', () => undefined);
    req.on('end', () => {
      try {
        request.body = readJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      } catch (err) {
        fail(err);
        return;
      }
      let handled: unknown;
      try {
        handled = pipeline.execute(request, reply, entry, server);
      } catch (err) {
        fail(err);
        return;
      }
      // Nest's route handler answers its own errors; one that escapes it still gets an answer.
      if (handled instanceof Promise) handled.catch(fail);
    });
  }
}

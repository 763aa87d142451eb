import * as http from 'node:http';
import * as https from 'node:https';
import { LockManager, LockOrder, LockTimeoutError, type Semaphore, withLock } from '../concurrency';
import { ServiceUnavailableError } from '../errors/app.error';

export interface HttpPoolOptions {
  /** Short name; the pool's semaphore is `network.<name>` in lock reports and contention metrics. */
  name: string;
  /** Requests (hence connections) open at once; further callers wait for a permit. */
  maxConnections: number;
  /** Bound on the wait for a free connection; 0 = only if one is free right now. */
  acquireTimeoutMs: number;
  /** Bound on one request, from sending it to the last byte of the response body. */
  requestTimeoutMs: number;
  /** Largest response body read (bytes); default 1 MiB. */
  maxResponseBytes?: number;
}

export interface PoolRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Aborts the wait for a connection and the request itself. */
  signal?: AbortSignal;
}

export interface PoolResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; throws UpstreamError when it is not. */
  json<T = unknown>(): T;
}

export interface HttpPoolStats {
  name: string;
  max_connections: number;
  in_use: number;
  waiting: number;
  requests_total: number;
  failures_total: number;
  acquire_timeouts_total: number;
  request_timeouts_total: number;
}

/** The upstream did not answer (completely) within the request timeout. */
export class UpstreamTimeoutError extends ServiceUnavailableError {}

/** The upstream could not be reached, broke the connection, or sent an unusable response. */
export class UpstreamError extends ServiceUnavailableError {}

/** The caller's signal aborted the request. */
export class UpstreamAbortedError extends ServiceUnavailableError {}

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Bounded outbound HTTP connection pool (docs/architecture.md §3.3) at the NETWORK level of the lock hierarchy.
 * The spec's queue of pre-created connections guarded by a mutex and a condition variable becomes
 * a counting semaphore from the concurrency core (FIFO, bounded and abortable wait, visible in
 * the admin lock report) in front of a keep-alive Agent whose `maxSockets` matches it: holding a
 * permit is holding one of the `maxConnections` connections, and the permit is released in
 * `finally` whatever happens to the request (the spec's ConnectionGuard).
 *
 * Every wait is bounded: the acquisition by `acquireTimeoutMs` (then the concurrency core's
 * `LockTimeoutError`, 503 LOCK_TIMEOUT), the request by `requestTimeoutMs` (then
 * `UpstreamTimeoutError`). Since the permit is the innermost lock (order 10), nothing else may be
 * taken while a request is in flight.
 */
export class HttpConnectionPool {
  private readonly permits: Semaphore;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly maxResponseBytes: number;
  private closed = false;
  private requests = 0;
  private failures = 0;
  private acquireTimeouts = 0;
  private requestTimeouts = 0;

  constructor(
    locks: LockManager,
    readonly options: HttpPoolOptions,
  ) {
    if (!Number.isInteger(options.maxConnections) || options.maxConnections < 1) throw new RangeError('maxConnections must be a positive integer');
    if (!(options.acquireTimeoutMs >= 0)) throw new RangeError('acquireTimeoutMs must be >= 0');
    if (!(options.requestTimeoutMs > 0)) throw new RangeError('requestTimeoutMs must be > 0');
    this.permits = locks.semaphore(`network.${options.name}`, LockOrder.NETWORK, options.maxConnections, { timeoutMs: options.acquireTimeoutMs });
    const agentOptions = { keepAlive: true, maxSockets: options.maxConnections, maxFreeSockets: options.maxConnections };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Name of the pool's semaphore (as in lock reports and LockTimeoutError.lock). */
  get lockName(): string {
    return this.permits.name;
  }

  /**
   * Sends one request on a pooled connection. Rejects with LockTimeoutError (no connection within
   * acquireTimeoutMs), UpstreamTimeoutError, UpstreamAbortedError or UpstreamError. Any HTTP status
   * resolves: the caller decides what a 4xx/5xx means.
   */
  async request(url: string | URL, init: PoolRequest = {}): Promise<PoolResponse> {
    if (this.closed) throw new UpstreamError(`Connection pool "${this.options.name}" is closed`);
    const target = typeof url === 'string' ? new URL(url) : url;
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UpstreamError(`Unsupported protocol ${target.protocol}`);
    this.requests++;
    try {
      return await withLock(this.permits, () => this.send(target, init), { timeoutMs: this.options.acquireTimeoutMs, signal: init.signal });
    } catch (err) {
      this.failures++;
      if (err instanceof LockTimeoutError && err.lock === this.permits.name) this.acquireTimeouts++;
      throw err;
    }
  }

  stats(): HttpPoolStats {
    return {
      name: this.options.name,
      max_connections: this.options.maxConnections,
      in_use: this.permits.permits - this.permits.available,
      waiting: this.permits.waiters.size,
      requests_total: this.requests,
      failures_total: this.failures,
      acquire_timeouts_total: this.acquireTimeouts,
      request_timeouts_total: this.requestTimeouts,
    };
  }

  /** Refuses new requests and closes the idle and active sockets (requests in flight fail). */
  close(): void {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private send(url: URL, init: PoolRequest): Promise<PoolResponse> {
    const signal = init.signal;
    if (signal?.aborted) return Promise.reject(new UpstreamAbortedError('Request aborted before it was sent'));
    const secure = url.protocol === 'https:';
    const timeoutMs = this.options.requestTimeoutMs;
    return new Promise<PoolResponse>((resolve, reject) => {
      let settled = false;
      const req = (secure ? https : http).request(url, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      const settle = (err: Error | null, res?: PoolResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          // Destroying the request also destroys its socket: a half-read response never goes back to the pool.
          req.destroy();
          reject(err);
        } else resolve(res!);
      };
      const onAbort = () => settle(new UpstreamAbortedError('Request aborted'));
      const timer = setTimeout(() => {
        this.requestTimeouts++;
        settle(new UpstreamTimeoutError(`${url.host} did not answer within ${timeoutMs} ms`, { host: url.host, timeout_ms: timeoutMs }));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => settle(new UpstreamError(`Request to ${url.host} failed: ${err.message}`, { host: url.host, cause: err.message })));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxResponseBytes) settle(new UpstreamError(`Response from ${url.host} exceeds ${this.maxResponseBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', (err) => settle(new UpstreamError(`Response from ${url.host} broke off: ${err.message}`)));
        res.once('aborted', () => settle(new UpstreamError(`Response from ${url.host} broke off`)));
        res.once('end', () => settle(null, toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      });
      req.end(init.body);
    });
  }
}

function toResponse(status: number, headers: http.IncomingHttpHeaders, body: Buffer): PoolResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: <T>() => {
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new UpstreamError('Response body is not JSON', { status });
      }
    },
  };
}

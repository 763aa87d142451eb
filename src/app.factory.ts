import { Logger, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { SessionSerializer } from './common/concurrency';
import { ServiceUnavailableError } from './common/errors/app.error';
import { digest } from './common/http/auth.guard';
import { createFrontDoor, type FrontDoor } from './common/http/front-door';
import { createJsonBodyParser, createJsonBodyReader, MAX_BODY_BYTES } from './common/http/json-body.parser';
import { installLeanRoutes } from './common/http/lean-route';
import { RateLimiter } from './common/http/rate-limiter';
import { genRequestId } from './common/http/request-id';
import { RequestStats } from './common/http/request-stats';
import { finalStatus, onResponseDone } from './common/http/response-done';
import { AccessLogController } from './common/logging/access-log.controller';
import { lazyChildLoggerFactory } from './common/logging/lazy-child.logger';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import type { AppConfig } from './config/app-config';
import { ConsoleService, registerConsoleAssets } from './modules/console';
import { SERVER_NAME, SERVER_VERSION } from './config/version';

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Engine {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  /** Binds PORT and, unless disabled, COMPAT_PORT; resolves with the bound ports. */
  listen(): Promise<{ port: number; compatPort: number | null }>;
  /** Stops accepting, lets in-flight requests finish (bounded), runs module hooks, closes the database. */
  shutdown(reason?: string): Promise<void>;
}

/** Paths that answer without token and outside the rate limit (orchestrators poll them). */
function isHealthPath(url: string): boolean {
  return url === '/health' || url.startsWith('/health/') || url.startsWith('/health?') || url.startsWith('/api/v1/health');
}

/** A console's event stream lasts as long as the page stays open: its duration is no response time. */
function isEventStream(res: http.ServerResponse): boolean {
  return String(res.getHeader('content-type') ?? '').startsWith('text/event-stream');
}

const BEARER = 'bearer';

/**
 * Every operation but health declares the bearer scheme, so Swagger UI sends the token it was
 * given (Authorize) with each "Try it out" — also for controllers that do not say so themselves.
 */
export function applyBearerSecurity(document: OpenAPIObject): OpenAPIObject {
  for (const [route, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const) {
      const operation = item[method];
      if (!operation) continue;
      operation.security = isHealthPath(route) ? [] : [{ [BEARER]: [] }];
    }
  }
  return document;
}

/**
 * Swagger UI keeps an authorization it should persist in localStorage (every tab, after the
 * browser closes); this moves that one key to sessionStorage: the token lasts for the tab.
 * Runs before the UI starts (its init runs on window load).
 */
const TAB_SCOPED_AUTHORIZATION = `(function () {
  var proto = Storage.prototype, get = proto.getItem, set = proto.setItem, remove = proto.removeItem;
  function target(store, key) { return store === window.localStorage && key === 'authorized' ? window.sessionStorage : store; }
  proto.getItem = function (key) { return get.call(target(this, key), key); };
  proto.setItem = function (key, value) { return set.call(target(this, key), key, value); };
  proto.removeItem = function (key) { return remove.call(target(this, key), key); };
})();`;

export interface EngineOptions {
  /** Runs before the app is initialised: tests add routes to the Fastify instance here. */
  beforeInit?: (app: NestFastifyApplication) => void;
  /** Test-only Nest modules mounted beside the engine's own (probe routes behind the real guards). */
  extraImports?: Type[];
}

export async function createEngine(config: AppConfig, options: EngineOptions = {}): Promise<Engine> {
  const rootLogger = createRootLogger(config.logLevel);
  let handler: RequestHandler | undefined;
  // Set once the lean routes are known; until then (and for everything it declines) Fastify serves.
  let frontDoor: FrontDoor | undefined;
  const adapter = new FastifyAdapter({
    loggerInstance: rootLogger,
    logController: new AccessLogController(),
    genReqId: genRequestId,
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: MAX_BODY_BYTES,
    return503OnClosing: true,
    // One handler, two servers: COMPAT_PORT serves the same app with the same locks.
    serverFactory: (fastifyHandler: RequestHandler) => {
      handler = (req, res) => {
        if (frontDoor?.(req, res) !== true) fastifyHandler(req, res);
      };
      return http.createServer(handler);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.extraImports), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(rootLogger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: any other body type (text, form, multipart) is a 415, not parsed and guessed at.
  fastify.removeAllContentTypeParsers();
  app.useBodyParser('application/json', { bodyLimit: MAX_BODY_BYTES }, createJsonBodyParser(fastify));

  const stats = app.get(RequestStats);
  const limiter = new RateLimiter(config.rateLimitPerSecond);
  const tokenDigest = config.token === undefined ? undefined : digest(config.token);
  let draining = false;

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    void reply.header('x-request-id', request.id);
    stats.started();
    onResponseDone(request.raw, reply.raw, () => {
      const status = finalStatus(reply.raw);
      if (isEventStream(reply.raw)) stats.finishedUntimed(status);
      else stats.finished(request.method, request.routeOptions.url, status, reply.elapsedTime);
    });
    try {
      if (draining) throw new ServiceUnavailableError('Engine is shutting down');
      const url = request.url;
      // /docs, its document and the console's static files need no token (a browser cannot send
      // one when it navigates; they hold no data): the data routes they call do.
      if (!isHealthPath(url)) limiter.take(request.ip);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  fastify.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value: unknown) => void) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(SERVER_NAME)
      .setDescription(
        'AI backend for OpenKore bots. Responses use the envelope {status, data, metadata}; errors use ' +
          '{status:"error", error:{code, message, details}, metadata:{timestamp, request_id}}.',
      )
      .setVersion(SERVER_VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'OPENKORE_AI_TOKEN, when set' }, BEARER)
      .build(),
  );
  SwaggerModule.setup('docs', app, applyBearerSecurity(document), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: `${SERVER_NAME} API`,
    customJsStr: TAB_SCOPED_AUTHORIZATION,
    swaggerOptions: { persistAuthorization: true },
  });
  registerConsoleAssets(fastify);
  options.beforeInit?.(app);
  let leanRoutes: ReturnType<typeof installLeanRoutes>;
  try {
    leanRoutes = installLeanRoutes(app, tokenDigest);
    await app.init();
    leanRoutes.assertInstalled();
    frontDoor = createFrontDoor({
      routes: leanRoutes.routes,
      readJson: createJsonBodyReader(fastify),
      maxBodyBytes: MAX_BODY_BYTES,
      tokenDigest,
      limiter,
      stats,
      logger: rootLogger,
      isDraining: () => draining,
    });
  } catch (err) {
    // A route the lean path cannot serve is a programming error: fail the boot, leave nothing open.
    await app.close().catch(() => undefined);
    throw err;
  }

  const logger = new Logger('Engine');
  let compat: http.Server | undefined;
  let shutdownPromise: Promise<void> | undefined;

  const serializer = app.get(SessionSerializer);
  const consoles = app.get(ConsoleService);
  const waitForInFlight = async (deadline: number): Promise<void> => {
    // Requests finish on their own; this only bounds how long shutdown lets them. A request whose
    // client left is no longer in flight, but its handler may still run in its session turn.
    while ((stats.inFlight > 0 || serializer.inFlight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    app,
    config,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      const port = (app.getHttpServer().address() as AddressInfo).port;
      let compatPort: number | null = null;
      if (config.compatPort !== 0) {
        if (!handler) throw new Error('Fastify did not hand over its request handler');
        compat = http.createServer(handler);
        await new Promise<void>((resolve, reject) => {
          compat!.once('error', reject);
          compat!.listen(config.compatPort, config.host, () => {
            compat!.off('error', reject);
            resolve();
          });
        });
        compatPort = (compat.address() as AddressInfo).port;
      }
      logger.log({ host: config.host, port, compat_port: compatPort, database: config.databasePath }, 'listening');
      return { port, compatPort };
    },
    shutdown(reason = 'shutdown') {
      shutdownPromise ??= (async () => {
        logger.log({ reason, in_flight: stats.inFlight }, 'shutting down');
        draining = true;
        const servers = [app.getHttpServer() as http.Server, compat].filter((s): s is http.Server => !!s?.listening);
        const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        // An event stream never finishes by itself: end them so the drain waits only for real requests.
        consoles.closeStreams();
        await waitForInFlight(Date.now() + config.shutdownTimeoutMs);
        if (stats.inFlight > 0 || serializer.inFlight > 0) {
          logger.warn({ in_flight: stats.inFlight, session_turns: serializer.inFlight }, 'shutdown timeout: closing remaining connections');
        }
        for (const s of servers) s.closeAllConnections();
        await Promise.all(closed);
        await app.close();
        logger.log('stopped');
      })();
      return shutdownPromise;
    },
  };
}

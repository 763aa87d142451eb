import { Logger, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { SessionSerializer } from './common/concurrency';
import { EngineFastifyAdapter } from './common/http/engine-fastify.adapter';
import { createFrontDoor, type FrontDoor } from './common/http/front-door';
import { applyKeepAlivePolicy } from './common/http/keep-alive';
import { createJsonBodyParser, createJsonBodyReader, MAX_BODY_BYTES } from './common/http/json-body.parser';
import { isHealthPath, RequestPipeline } from './common/http/request-pipeline';
import { warmRequestPipeline } from './common/http/pipeline.warmup';
import { genRequestId } from './common/http/request-id';
import type { RouteExecutorChoice } from './common/http/route-executor';
import { RequestStats } from './common/http/request-stats';
import { PipelineLogController } from './common/logging/access-log';
import { lazyChildLoggerFactory } from './common/logging/lazy-child.logger';
import { createRootLogger, PinoNestLogger } from './common/logging/logger';
import type { AppConfig } from './config/app-config';
import { ConsoleService, registerConsoleAssets } from './modules/console';
import { WarmupService, type WarmupStep } from './modules/health';
import { SERVER_NAME, SERVER_VERSION } from './config/version';
import { MetricsCollector } from './modules/metrics';
import { SessionOwnership } from './modules/session';
import * as os from 'node:os';

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Engine {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  /** The request pipeline every route and every way in goes through. */
  readonly pipeline: RequestPipeline;
  /** Which route executor each Nest route got (HTTP_FAST_ROUTES): ours, or Nest's and why. */
  readonly routeExecutors: readonly RouteExecutorChoice[];
  /** Binds PORT and, unless disabled, COMPAT_PORT; resolves with the bound ports. */
  listen(): Promise<{ port: number; compatPort: number | null }>;
  /** Stops accepting, lets in-flight requests finish (bounded), runs module hooks, closes the database. */
  shutdown(reason?: string): Promise<void>;
}

const BEARER = 'bearer';
/** Exchanges of the request pipeline's warm-up at most (each a few hundred µs while cold). */
const PIPELINE_WARMUP_REQUESTS = 1_000;

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
  /** Where the logs go instead of stdout (tests read the access log). */
  logDestination?: DestinationStream;
  /** Warm-up done before this engine existed (the rehearsal, see engine-rehearsal.ts): reported with its own steps. */
  priorWarmup?: WarmupStep;
}

export async function createEngine(config: AppConfig, options: EngineOptions = {}): Promise<Engine> {
  const rootLogger = createRootLogger(config.logLevel, options.logDestination);
  let handler: RequestHandler | undefined;
  // Set once the routes are known; until then (and for everything it declines) Fastify serves.
  let frontDoor: FrontDoor | undefined;
  const adapter = new EngineFastifyAdapter({
    loggerInstance: rootLogger,
    // The pipeline writes the access log, for every way in.
    logController: new PipelineLogController(),
    genReqId: genRequestId,
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: MAX_BODY_BYTES,
    // Draining is the pipeline's admission stage (503 in the envelope), not Fastify's own body.
    return503OnClosing: false,
    // What the router refuses before any route exists (bad URL, over-long parameter): the same envelope.
    // (Called only once serving, after the pipeline below exists.)
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => pipeline.frameworkErrors(error, request, reply),
    // One handler, two servers: COMPAT_PORT serves the same app with the same locks.
    serverFactory: (fastifyHandler: RequestHandler) => {
      handler = (req, res) => {
        if (frontDoor?.(req, res) !== true) fastifyHandler(req, res);
      };
      const server = http.createServer(handler);
      applyKeepAlivePolicy(server, config.keepAliveTimeoutMs);
      return server;
    },
  });
  adapter.fastRoutes = config.fastRoutes;
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.extraImports), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(rootLogger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const stats = app.get(RequestStats);
  const pipeline = new RequestPipeline({ stats, logger: rootLogger, rateLimitPerSecond: config.rateLimitPerSecond, instanceId: config.instanceId });
  // Before any route is registered (Swagger's and the console's below, Nest's at init): every route runs through the pipeline.
  fastify.addHook('onRoute', pipeline.onRoute);
  fastify.addHook('onRequest', pipeline.onRequest);
  // JSON only: any other body type (text, form, multipart) is a 415, not parsed and guessed at.
  fastify.removeAllContentTypeParsers();
  app.useBodyParser('application/json', { bodyLimit: MAX_BODY_BYTES }, createJsonBodyParser(fastify));

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
  // /docs, its document and the console's static files need no token (a browser cannot send one
  // when it navigates; they hold no data): the data routes they call do (AuthGuard).
  SwaggerModule.setup('docs', app, applyBearerSecurity(document), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: `${SERVER_NAME} API`,
    customJsStr: TAB_SCOPED_AUTHORIZATION,
    swaggerOptions: { persistAuthorization: true },
  });
  registerConsoleAssets(fastify);
  // The HTTP layer's step of the warm-up (the modules register theirs): Node's HTTP stack, the
  // front door and the pipeline, on throwaway instances and a loopback server of their own.
  if (options.priorWarmup) app.get(WarmupService).recordPrior(options.priorWarmup);
  app.get(WarmupService).register('request pipeline', ({ rounds }) =>
    warmRequestPipeline({ requests: Math.min(rounds, PIPELINE_WARMUP_REQUESTS), readJson: createJsonBodyReader(fastify), maxBodyBytes: MAX_BODY_BYTES }),
  );
  options.beforeInit?.(app);
  try {
    await app.init();
    if (config.frontDoor) {
      frontDoor = createFrontDoor({ pipeline, readJson: createJsonBodyReader(fastify), maxBodyBytes: MAX_BODY_BYTES, server: fastify, batchResponses: config.batchResponses });
    }
  } catch (err) {
    // A route the pipeline cannot serve is a programming error: fail the boot, leave nothing open.
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
    pipeline,
    routeExecutors: adapter.routeExecutors,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      const port = (app.getHttpServer().address() as AddressInfo).port;
      let compatPort: number | null = null;
      if (config.compatPort !== 0) {
        if (!handler) throw new Error('Fastify did not hand over its request handler');
        compat = http.createServer(handler);
        applyKeepAlivePolicy(compat, config.keepAliveTimeoutMs);
        await new Promise<void>((resolve, reject) => {
          compat!.once('error', reject);
          compat!.listen(config.compatPort, config.host, () => {
            compat!.off('error', reject);
            resolve();
          });
        });
        compatPort = (compat.address() as AddressInfo).port;
      }
      // Known only now (PORT=0): the address other instances name in SESSION_ELSEWHERE.
      const advertised = config.advertisedUrl ?? `http://${advertisedHost(config.host)}:${port}`;
      await app.get<SessionOwnership | null>(SessionOwnership)?.start(advertised);
      // The boot's last synchronous steps delayed no request: the loop delay counts from here.
      app.get(MetricsCollector).markServing();
      logger.log({ host: config.host, port, compat_port: compatPort, database: config.databasePath, front_door: config.frontDoor, instance_id: config.instanceId, advertised_url: advertised }, 'listening');
      return { port, compatPort };
    },
    shutdown(reason = 'shutdown') {
      shutdownPromise ??= (async () => {
        logger.log({ reason, in_flight: stats.inFlight }, 'shutting down');
        pipeline.startDraining();
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

/** A wildcard bind address names no host another instance could reach: the host name instead. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return os.hostname();
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

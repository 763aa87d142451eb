import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the page is served. */
export const CONSOLE_PATH = '/console';

/** The charting library, vendored from node_modules: the console works offline. */
const VENDOR_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

/**
 * The page holds no data (everything comes from token-protected routes) but shows it: scripts
 * only from the engine, nothing framed, no referrer leaving the page.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The page's own files: `public/` beside this module's sources (also when running from dist/). */
export function consoleAssetsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'openkore-ai-engine') {
      return path.join(dir, 'src', 'modules', 'console', 'public');
    }
    dir = path.dirname(dir);
  }
  throw new Error('console assets not found: no openkore-ai-engine package.json above ' + __dirname);
}

export function uplotDir(): string {
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
}

function setHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
}

/**
 * Serves `/console` (the page) and `/console/vendor/` (uPlot) with @fastify/static: one route per
 * file found at boot (no wildcard), public like `/docs`, through the same request pipeline
 * (observation, per-address rate limit, draining) as every route.
 */
export function registerConsoleAssets(fastify: FastifyInstance): void {
  void fastify.register(async (instance) => {
    await instance.register(fastifyStatic, {
      root: consoleAssetsDir(),
      prefix: `${CONSOLE_PATH}/`,
      wildcard: false,
      // `/console` serves the index too (the page uses absolute URLs).
      redirect: true,
      index: ['index.html'],
      decorateReply: false,
      cacheControl: false,
      setHeaders,
    });
    await instance.register(fastifyStatic, {
      root: uplotDir(),
      prefix: `${CONSOLE_PATH}/vendor/`,
      wildcard: false,
      decorateReply: false,
      cacheControl: false,
      allowedPath: (pathName) => VENDOR_FILES.has(pathName),
      setHeaders,
    });
  });
}

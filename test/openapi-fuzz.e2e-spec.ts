import fc from 'fast-check';
import * as path from 'node:path';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';

/** Fixed: a failure names the seed and path, and reruns the same requests. */
const SEED = 20261202;
/** Requests per operation: random ones and mutations of schema-shaped ones. */
const RUNS_PER_OPERATION = 14;

const ERROR_CODES = new Set([
  'INVALID_REQUEST',
  'INVALID_TOKEN',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'URI_TOO_LONG',
  'VERSION_CONFLICT',
  'BUSY',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE',
  'QUEUE_FULL',
  'RATE_LIMIT',
  'LOCK_TIMEOUT',
  'SERVICE_UNAVAILABLE',
  'STORAGE_FULL',
  'DEADLOCK',
]);

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
};
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema?: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  /** Answers a Server-Sent Events stream that never ends by itself (the console's). */
  eventStream: boolean;
}

/** A few values of each kind that often break parsers: empty, huge, odd characters, wrong types. */
const nastyString = fc.oneof(
  fc.constantFrom('', ' ', '0', '-1', 'null', 'true', '__proto__', 'constructor', '../../etc/passwd', '%00', '\u0000', '😀', 'a/b', '?x=1#y'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 90, max: 400 }).map((n) => 'x'.repeat(n)),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Values shaped by an OpenAPI schema (mostly valid); `depth` bounds recursion. */
function fromSchema(schema: Schema | undefined, resolve: (s: Schema) => Schema, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  const s = resolve(schema);
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return fc.oneof(...variants.map((v) => fromSchema(v, resolve, depth + 1)));
  if (s.allOf) return fromSchema(Object.assign({}, ...s.allOf.map(resolve)) as Schema, resolve, depth + 1);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string':
      if (s.format === 'uuid') return fc.uuid();
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 24, 24) });
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1000, -1e6), max: Math.min(s.maximum ?? 1000, 1e6) });
    case 'number':
      return fc.double({ min: Math.max(s.minimum ?? -1000, -1e6), max: Math.min(s.maximum ?? 1000, 1e6), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const max = Math.min(s.maxItems ?? 4, 4);
      return fc.array(fromSchema(s.items, resolve, depth + 1), { minLength: Math.min(s.minItems ?? 0, max), maxLength: max });
    }
    case 'object':
    case undefined: {
      if (!s.properties) return fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 });
      const required = new Set(s.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, prop] of Object.entries(s.properties)) shape[key] = fromSchema(prop, resolve, depth + 1);
      return fc.record(shape, { requiredKeys: [...required].filter((k) => k in shape) });
    }
    default:
      return anyJson;
  }
}

/** One change that makes a schema-shaped body likely invalid in one place. */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  const mutations: Array<fc.Arbitrary<unknown>> = [
    anyJson,
    fc.constant([value]),
    fc.constant(null),
    fc.constant(`${JSON.stringify(value)}`),
    fc.integer({ min: 33, max: 40 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
  ];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length > 0) {
      const key = fc.constantFrom(...keys);
      mutations.push(
        key.map((k) => {
          const copy = { ...(value as Record<string, unknown>) };
          delete copy[k];
          return copy;
        }),
        fc.tuple(key, fc.oneof(anyJson, nastyString, fc.constantFrom(1e308, -1, 0.5, Number.MAX_SAFE_INTEGER + 2, '', [], {}))).map(([k, v]) => ({ ...(value as object), [k]: v })),
      );
    }
    mutations.push(fc.tuple(nastyString, anyJson).map(([k, v]) => ({ ...(value as object), [k]: v })));
  }
  return fc.oneof(...mutations);
}

type DocumentOperation = {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
};

function operations(document: { paths: Record<string, Record<string, DocumentOperation>> }): Operation[] {
  const out: Operation[] = [];
  for (const [p, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      out.push({
        method: method.toUpperCase(),
        path: p,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        eventStream: Object.values(op.responses ?? {}).some((r) => r.content?.['text/event-stream'] !== undefined),
      });
    }
  }
  return out;
}

/**
 * A schema-driven fuzz over every operation of the OpenAPI document: random and mutated bodies,
 * path parameters and query strings. Whatever is sent, no answer is a 5xx, and every answer is
 * in the envelope (or, for a @RawResponse route's success, its own JSON shape).
 */
describe('OpenAPI-driven fuzz', () => {
  let e: RunningEngine;
  let document: Parameters<typeof operations>[0] & { components?: { schemas?: Record<string, Schema> } };
  let ops: Operation[];
  let rawRoutes: Set<string>;

  beforeAll(async () => {
    const dir = tempDir('okai-fuzz-');
    e = await startEngine({
      MACRO_DIR: path.join(dir, 'macros'),
      RULES_FILE: path.join(dir, 'rules.json'),
      PDCA_INTERVAL_MS: '0',
      PDCA_EXECUTION_PERIOD_MS: '60000',
      MEMORY_CONSOLIDATE_INTERVAL_MS: '0',
      ML_TRAIN_MIN_SAMPLES: '1000000',
      REQUEST_TIMEOUT_MS: '5000',
    });
    document = (await request(`${e.url}/docs-json`)).body;
    ops = operations(document);
    rawRoutes = new Set(e.engine.pipeline.routes.all().filter((r) => r.config.rawResponse).map((r) => `${r.method} ${r.url}`));
  });
  afterAll(() => e?.stop());

  const resolve = (schema: Schema): Schema => {
    let s = schema;
    while (s.$ref) s = document.components!.schemas![s.$ref.replace('#/components/schemas/', '')];
    return s;
  };

  it('covers every route of the engine', () => {
    const documented = new Set(ops.map((o) => `${o.method} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = e.engine.pipeline.routes
      .all()
      // The OpenAPI UI and the console's page are static files, not operations.
      .filter((r) => !r.url.startsWith('/docs') && r.url !== '/console' && !r.url.startsWith('/console/') && r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
    expect(ops.length).toBeGreaterThan(40);
  });

  it('finds no 5xx and no answer outside the envelope', async () => {
    const failures: string[] = [];
    let sent = 0;
    // The console's event stream never ends by itself (test/console-api.e2e-spec.ts covers it).
    for (const op of ops.filter((o) => !o.eventStream)) {
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const queryParams = op.parameters.filter((p) => p.in === 'query');
      const params = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema, resolve), nastyString).map(String)])));
      const query = fc.option(fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema, resolve), nastyString).map(String)])), { requiredKeys: [] }), { nil: undefined });
      const shaped = op.body ? fromSchema(op.body, resolve) : fc.constant(undefined);
      const body = op.body || op.method !== 'GET' ? fc.oneof(shaped, shaped.chain(mutate), anyJson) : fc.constant(undefined);

      const failuresBefore = failures.length;
      await fc.assert(
        fc.asyncProperty(params, query, body, async (p, q, b) => {
          let url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(p[name]));
          const qs = q ? new URLSearchParams(q as Record<string, string>).toString() : '';
          if (qs) url += `?${qs}`;
          const res = await request(`${e.url}${url}`, { method: op.method, ...(b === undefined ? {} : { body: b }) });
          sent++;
          const where = `${op.method} ${url} ${JSON.stringify(b)?.slice(0, 300)} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
          const route = `${op.method} ${op.path.replace(/\{(\w+)\}/g, ':$1')}`;
          const requestId = res.headers.get('x-request-id');
          let ok = res.status < 500 && typeof requestId === 'string';
          if (ok && res.status >= 400) {
            const env = res.body;
            ok = env?.status === 'error' && ERROR_CODES.has(env.error?.code) && typeof env.error.message === 'string' && env.metadata?.request_id === requestId;
          } else if (ok && !rawRoutes.has(route)) {
            ok = res.body?.status === 'success' && 'data' in res.body && res.body.metadata?.request_id === requestId;
          } else if (ok) {
            // A raw route's own shape: JSON, except the Prometheus text.
            ok = route === 'GET /metrics' ? typeof res.body === 'string' : typeof res.body === 'object' && res.body !== null;
          }
          if (!ok) failures.push(where);
          return ok;
        }),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      ).catch((err: unknown) => {
        // An answer that failed the checks is in `failures` already; a send that threw (no answer at all) is not.
        if (failures.length === failuresBefore) failures.push(`${op.method} ${op.path}: ${String(err).slice(0, 600)}`);
      });
    }
    expect(failures).toEqual([]);
    expect(ops.filter((o) => o.eventStream).map((o) => `${o.method} ${o.path}`)).toEqual(['GET /api/v1/console/stream']);
    expect(sent).toBeGreaterThan((ops.length - 1) * RUNS_PER_OPERATION * 0.9);
  });
});

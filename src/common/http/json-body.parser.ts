import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../errors/app.error';

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_NODES = 100_000;

/**
 * Fastify's JSON parser (proto/constructor poisoning rejected) plus bounds on nesting
 * and node count, so a hostile body is a 400 before any handler walks it.
 */
export function createJsonBodyParser(instance: FastifyInstance) {
  const read = createJsonBodyReader(instance);
  return (_req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    let value: unknown;
    try {
      value = read(body);
    } catch (e) {
      return done(e as Error);
    }
    done(null, value);
  };
}

/**
 * The same parse as a plain function (the front door reads bodies outside Fastify): throws
 * Fastify's own errors (empty or invalid JSON, poisoning) or InvalidRequestError for the bounds.
 */
export function createJsonBodyReader(instance: FastifyInstance): (body: Buffer) => unknown {
  const parse = instance.getDefaultJsonParser('error', 'error');
  return (body) => {
    let error: Error | null = null;
    let value: unknown;
    let called = false;
    // Fastify's parser calls back synchronously (it is given a string, not a stream).
    void parse(undefined as unknown as FastifyRequest, body.toString('utf8'), (err: Error | null, parsed?: unknown) => {
      called = true;
      error = err;
      value = parsed;
    });
    if (!called) throw new Error("Fastify's JSON parser did not answer synchronously");
    if (error) throw error;
    assertJsonBounds(value);
    return value;
  };
}

export function assertJsonBounds(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_JSON_NODES): void {
  if (value === null || typeof value !== 'object') return;
  // Iterative walk: a recursive one would itself be the stack overflow we guard against.
  const pending: object[] = [value];
  const depths: number[] = [1];
  let nodes = 1;
  const tooMany = () => new InvalidRequestError(`JSON body has more than ${maxNodes} values`);
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) throw new InvalidRequestError(`JSON body is nested deeper than ${maxDepth} levels`);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i += 1) {
        if (++nodes > maxNodes) throw tooMany();
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        // Own keys only: a polluted Object.prototype must not make every body look endless.
        if (!Object.hasOwn(node, key)) continue;
        if (++nodes > maxNodes) throw tooMany();
        const child: unknown = (node as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
}

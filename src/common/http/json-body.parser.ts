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
  const parse = instance.getDefaultJsonParser('error', 'error');
  return (req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    void parse(req, body.toString('utf8'), (err: Error | null, value?: unknown) => {
      if (err) return done(err);
      try {
        assertJsonBounds(value);
      } catch (e) {
        return done(e as Error);
      }
      done(null, value);
    });
  };
}

export function assertJsonBounds(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_JSON_NODES): void {
  // Iterative walk: a recursive one would itself be the stack overflow we guard against.
  const stack: Array<[unknown, number]> = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++nodes > maxNodes) throw new InvalidRequestError(`JSON body has more than ${maxNodes} values`);
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) throw new InvalidRequestError(`JSON body is nested deeper than ${maxDepth} levels`);
    const children = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
      else if (++nodes > maxNodes) throw new InvalidRequestError(`JSON body has more than ${maxNodes} values`);
    }
  }
}

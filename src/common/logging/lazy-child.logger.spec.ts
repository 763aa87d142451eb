import pino from 'pino';
import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { lazyChildLoggerFactory } from './lazy-child.logger';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const root = pino({ level }, stream);
  return { root, lines, parent: root as unknown as FastifyBaseLogger };
}

describe('lazyChildLoggerFactory', () => {
  it('builds no child for calls below the level, and logs nothing', () => {
    const { root, lines, parent } = capture('info');
    const childSpy = jest.spyOn(root, 'child');
    const log = lazyChildLoggerFactory(parent, { request_id: 'r1' }, {});
    log.debug({ status: 200 }, 'request completed');
    log.trace('nothing');
    expect(childSpy).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    expect(log.level).toBe('info');
  });

  it('logs exactly what a pino child would, building the child once', () => {
    const { root, lines, parent } = capture('info');
    const childSpy = jest.spyOn(root, 'child');
    const log = lazyChildLoggerFactory(parent, { request_id: 'r2' }, {});
    log.info({ status: 404 }, 'request rejected');
    log.error({ status: 500 }, 'request failed');
    expect(childSpy).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      expect.objectContaining({ request_id: 'r2', status: 404, msg: 'request rejected', level: 30 }),
      expect.objectContaining({ request_id: 'r2', status: 500, msg: 'request failed', level: 50 }),
    ]);
    // Children of it carry both bindings.
    log.child({ step: 'x' }).warn('nested');
    expect(lines[2]).toMatchObject({ request_id: 'r2', step: 'x', msg: 'nested' });
  });

  it('is eager when a route sets its own level', () => {
    const { root, parent } = capture('info');
    const childSpy = jest.spyOn(root, 'child');
    const log = lazyChildLoggerFactory(parent, { request_id: 'r3' }, { level: 'debug' });
    expect(childSpy).toHaveBeenCalledTimes(1);
    expect(log.level).toBe('debug');
  });
});

import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import type { MetricsPort } from '../../common/ports/metrics-sources.port';
import { until } from '../../common/testing/wait.test-kit';
import { WarmupService } from './warmup.service';

const service = (rounds: number) => new WarmupService({ warmupRounds: rounds } as AppConfig);

describe('WarmupService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('is ready only once every registered warmer has run with the configured rounds and the throwaway metrics', async () => {
    const w = service(3);
    const metrics = {} as MetricsPort;
    w.useMetrics(() => metrics);
    const seen: string[] = [];
    let release: (() => void) | undefined;
    w.register('a', (ctx) => {
      seen.push(`a ${ctx.rounds} ${ctx.metrics === metrics}`);
      return new Promise<void>((r) => (release = r));
    });
    w.register('b', () => void seen.push('b'));
    expect(w.ready).toBe(false);
    expect(w.report().status).toBe('pending');
    const run = w.run();
    expect(w.report().status).toBe('running');
    expect(w.ready).toBe(false);
    await until(() => release !== undefined, 'warmer a started');
    expect(w.ready).toBe(false);
    release!();
    await run;
    expect(w.ready).toBe(true);
    // In registration order, and nothing else.
    expect(seen).toEqual(['a 3 true', 'b']);
    expect(w.report().steps.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('a failing warmer is reported and skipped; the engine still becomes ready', async () => {
    const w = service(1);
    w.register('boom', () => {
      throw new Error('broken warmer');
    });
    w.register('after', () => undefined);
    await w.run();
    expect(w.ready).toBe(true);
    expect(w.report().steps).toEqual([
      expect.objectContaining({ name: 'boom', error: 'broken warmer' }),
      expect.objectContaining({ name: 'after' }),
    ]);
    expect(w.report().steps[1].error).toBeUndefined();
  });

  it('a step run before the engine existed (the boot rehearsal) is reported first, as it was, also when it failed', async () => {
    const w = service(1);
    w.register('own', () => undefined);
    w.recordPrior({ name: 'http rehearsal', duration_ms: 2100, error: 'ENOTDIR' });
    await w.run();
    expect(w.report().steps).toEqual([{ name: 'http rehearsal', duration_ms: 2100, error: 'ENOTDIR' }, expect.objectContaining({ name: 'own' })]);
  });

  it('WARMUP_ROUNDS=0 runs no warmer and is ready at once; runs share the first', async () => {
    const w = service(0);
    const warmer = jest.fn();
    w.register('x', warmer);
    const a = w.run();
    expect(w.run()).toBe(a);
    await a;
    expect(warmer).not.toHaveBeenCalled();
    expect(w.ready).toBe(true);
  });
});

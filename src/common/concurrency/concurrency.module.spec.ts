import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConcurrencyModule } from './concurrency.module';
import { RecordingLogger } from './concurrency.test-kit';
import { type CatalogLock, LockManager } from './lock-manager.service';
import { LockName } from './lock-order.enum';
import { InjectLock } from './lock-providers';
import { SessionSerializer } from './session-serializer';
import { WithLock } from './with-lock.decorator';

@Injectable()
class ConfigService {
  constructor(@InjectLock(LockName.CONFIG) readonly configLock: CatalogLock<typeof LockName.CONFIG>) {}

  @WithLock(LockName.CONFIG)
  async reload(): Promise<string> {
    return 'reloaded';
  }
}

/** A feature module elsewhere in the app: the global module's lock providers reach it. */
@Injectable()
class ModelService {
  constructor(@InjectLock(LockName.MODEL) readonly modelLock: CatalogLock<typeof LockName.MODEL>) {}
}
@Module({ providers: [ModelService] })
class FeatureModule {}

describe('ConcurrencyModule', () => {
  it('provides the manager and serializer, runs the long-hold scan between init and destroy', async () => {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [ConcurrencyModule.forRoot({ locks: { logger, orderMode: 'log' }, sessions: { maxInFlight: 7 } }), FeatureModule],
      providers: [ConfigService],
    }).compile();
    const manager = moduleRef.get(LockManager);
    const sessions = moduleRef.get(SessionSerializer);
    expect(manager.runtime.detector.running).toBe(false);

    await moduleRef.init();
    expect(manager.runtime.detector.running).toBe(true);
    // Each level's lock is a provider: the manager's lock of that name, the same one everywhere.
    expect(moduleRef.get(ConfigService).configLock).toBe(manager.resolve(LockName.CONFIG));
    expect(moduleRef.get(ModelService).modelLock).toBe(manager.resolve(LockName.MODEL));
    expect(manager.orderMode).toBe('log');
    expect(sessions.stats().maxInFlight).toBe(7);
    await expect(moduleRef.get(ConfigService).reload()).resolves.toBe('reloaded');
    expect(manager.contention()).toEqual(
      expect.arrayContaining([expect.objectContaining({ lock: 'config', acquisitions: 1 })]),
    );
    const report = manager.getReport();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain JSON

    await moduleRef.close();
    expect(manager.runtime.detector.running).toBe(false);
  });

  it('works with defaults when imported bare', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConcurrencyModule] }).compile();
    const sessions = moduleRef.get(SessionSerializer);
    expect(sessions.maxQueueDepth).toBe(1000);
    expect(sessions.maxInFlight).toBe(100);
    expect(sessions.timeoutMs).toBe(30_000);
    await moduleRef.close();
  });
});

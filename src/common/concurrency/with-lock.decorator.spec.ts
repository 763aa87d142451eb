import 'reflect-metadata';
import { LockTimeoutError } from './concurrency.errors';
import { deferred, flushMicrotasks, RecordingLogger } from './concurrency.test-kit';
import { heldLocks } from './lock-context';
import { type CatalogLock, createLockManager, type LockManager } from './lock-manager.service';
import { LockName, LockOrder } from './lock-order.enum';
import { WithLock } from './with-lock.decorator';

const ROUTE = 'test:route';
const Route = (path: string): MethodDecorator => (_target, _key, descriptor) => {
  Reflect.defineMetadata(ROUTE, path, descriptor.value as object);
};

class GameStateService {
  readonly log: string[] = [];
  gate = deferred();

  // As Nest injects them (@InjectLock); a unit test passes them itself.
  constructor(
    private readonly stateLock: CatalogLock<typeof LockName.STATE>,
    private readonly databaseLock: CatalogLock<typeof LockName.DATABASE>,
  ) {}

  @WithLock(LockName.STATE, { mode: 'write', key: (sessionId: string) => sessionId })
  async update(sessionId: string, patch: string): Promise<string[]> {
    this.log.push(`start ${sessionId} ${patch}`);
    await this.gate.promise;
    this.log.push(`end ${sessionId} ${patch}`);
    return heldLocks();
  }

  @WithLock(LockName.STATE, { mode: 'read', key: (sessionId: string) => sessionId })
  async read(_sessionId: string): Promise<string[]> {
    return heldLocks();
  }

  @WithLock(LockName.DATABASE, { timeoutMs: 0 })
  @Route('/save')
  async save(fail: boolean): Promise<string> {
    if (fail) throw new Error('write failed');
    return 'saved';
  }
}

describe('@WithLock', () => {
  let manager: LockManager;
  const make = () => new GameStateService(manager.resolve(LockName.STATE), manager.resolve(LockName.DATABASE));

  beforeEach(() => {
    manager = createLockManager({ logger: new RecordingLogger() });
  });

  it('takes the lock the instance was given, by name, and serializes per key', async () => {
    const service = make();
    const a1 = service.update('a', '1');
    const a2 = service.update('a', '2');
    const b1 = service.update('b', '1');
    await flushMicrotasks();
    expect(service.log).toEqual(['start a 1', 'start b 1']);
    service.gate.resolve();
    expect(await a1).toEqual(['state[a]']);
    await Promise.all([a2, b1]);
    expect(service.log.indexOf('start a 2')).toBeGreaterThan(service.log.indexOf('end a 1'));
    expect(await service.read('a')).toEqual(['state[a]']);
  });

  it('releases when the method throws, keeps metadata and the method name', async () => {
    const service = make();
    await expect(service.save(true)).rejects.toThrow('write failed');
    await expect(service.save(false)).resolves.toBe('saved'); // timeoutMs 0: would fail if still held
    const method = Object.getOwnPropertyDescriptor(GameStateService.prototype, 'save')!.value as () => unknown;
    expect(Reflect.getMetadata(ROUTE, method)).toBe('/save');
    expect(method.name).toBe('save');
  });

  it('applies the per-method timeout', async () => {
    const s = make();
    const release = await manager.mutex(LockName.DATABASE, LockOrder.DATABASE).acquire();
    await expect(s.save(false)).rejects.toBeInstanceOf(LockTimeoutError);
    release();
  });

  it('uses each instance’s own lock: nothing process-wide decides which lock a method takes', async () => {
    const other = createLockManager({ logger: new RecordingLogger() });
    const mine = make();
    const theirs = new GameStateService(other.resolve(LockName.STATE), other.resolve(LockName.DATABASE));
    // Their DATABASE lock is busy; mine is not.
    const release = await other.resolve(LockName.DATABASE).acquire();
    try {
      await expect(mine.save(false)).resolves.toBe('saved');
      await expect(theirs.save(false)).rejects.toBeInstanceOf(LockTimeoutError);
    } finally {
      release();
    }
  });

  it('fails clearly when the instance was not given the lock', async () => {
    const bare = new GameStateService(undefined as never, undefined as never);
    await expect(bare.read('a')).rejects.toThrow(/GameStateService\.read: the instance holds no "state" lock/);
  });
});

describe('@WithLock typing', () => {
  it('ties the key function to the decorated method parameters (compile-time check)', () => {
    class Misuse {
      // @ts-expect-error the key function must take the method's leading parameters
      @WithLock(LockName.STATE, { key: (playerId: number) => String(playerId) })
      async wrong(sessionId: string): Promise<string> {
        return sessionId;
      }
    }
    expect(Object.getOwnPropertyNames(Misuse.prototype)).toContain('wrong');
  });
});

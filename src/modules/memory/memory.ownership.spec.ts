import { Logger } from '@nestjs/common';
import { LockName, LockOrder } from '../../common/concurrency';
import { OWNERSHIP_TEST_TTL_MS, OwnershipTestCluster, type OwnershipTestInstance } from '../session/session-ownership.test-kit';
import { EmbeddingGenerator } from './embedding/embedding-generator';
import { HashingEmbeddingProvider } from './embedding/hashing-embedding.provider';
import { MemoryService } from './memory.service';
import { TEST_MEMORY_OPTIONS } from './memory.test-kit';

const TTL = OWNERSHIP_TEST_TTL_MS;

/** One engine instance with its memory. */
type Instance = OwnershipTestInstance & { memory: MemoryService };

describe('memory across instances (one SQLite file, a fake clock)', () => {
  let cluster: OwnershipTestCluster;

  function instance(id: string): Promise<Instance> {
    return cluster.instance(
      id,
      ({ db, sessions, locks }) => {
        const generator = new EmbeddingGenerator(new HashingEmbeddingProvider(), locks.semaphore(`memory.embedding.${id}`, LockOrder.EMBEDDING, 5), 1_000);
        const memory = new MemoryService({ ...TEST_MEMORY_OPTIONS, now: () => cluster.clock }, db.service, sessions, locks.resolve(LockName.MEMORY), generator);
        memory.onModuleInit();
        return { memory };
      },
      ({ memory }) => memory.beforeApplicationShutdown(),
    );
  }

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    cluster = await OwnershipTestCluster.open();
  });
  afterEach(() => cluster.close());

  const note = (word: string) => ({ event: { type: 'note', situation: `saw ${word}` }, importance: 0.5 });

  it('a session lost to another instance drops its index here; taken back, its index is reloaded with what was stored elsewhere', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.memory.store(id, note('alpha'));
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(1);
    expect(a.memory.stats().sessions_loaded).toBe(1);
    // A's bot goes idle there; the lease lapses and B gets the bot, which stores a memory on B.
    cluster.advance(TTL + 1);
    expect(await b.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    await b.memory.store(id, note('beta'));
    // A's renewal finds the lease taken: the session is evicted, and its memory index with it
    // (no stale index kept, no consolidation of a session served elsewhere).
    await a.ownership.renew();
    expect(a.sessions.exists(id)).toBe(false);
    expect(a.memory.stats().sessions_loaded).toBe(0);
    // B's turn ends the same way; A gets the bot back and sees both memories.
    cluster.advance(TTL + 1);
    expect(await a.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(2);
  });

  it('a take-over (SessionService adopt) also drops the index loaded before: it never reuses a stale one', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.memory.store(id, note('alpha'));
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(1);
    cluster.advance(TTL + 1);
    expect(await b.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    await b.memory.store(id, note('beta'));
    await b.memory.store(id, note('gamma'));
    // No renewal on A meanwhile (paused): it learns of the take-over only when it takes the bot back.
    cluster.advance(TTL + 1);
    expect(await a.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(3);
  });
});

import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { LockManager, LockName, LockOrder } from '../../common/concurrency';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import type { AppConfig } from '../../config/app-config';
import { SessionLeaseRepository, SessionOwnership, SessionService } from '../session';
import { EmbeddingGenerator } from './embedding/embedding-generator';
import { HashingEmbeddingProvider } from './embedding/hashing-embedding.provider';
import { MemoryService } from './memory.service';
import { TEST_MEMORY_OPTIONS } from './memory.test-kit';

const noRows = { isInitialized: true, getRepository: () => ({ find: () => Promise.resolve([]) }) } as unknown as DataSource;
const TTL = 3_000;

/** One engine instance (its own connection and locks), the shared file, a shared fake clock. */
interface Instance {
  db: StandaloneDatabase;
  ownership: SessionOwnership;
  sessions: SessionService;
  memory: MemoryService;
}

describe('memory across instances (one SQLite file, a fake clock)', () => {
  let dir: string;
  let file: string;
  let clock: number;
  const instances: Instance[] = [];

  async function instance(id: string): Promise<Instance> {
    const locks = new LockManager();
    const db = openStandaloneDatabase(file, locks);
    const config = { instanceId: id, sessionLeaseTtlMs: TTL, sessionTtlMs: 3_600_000, host: '127.0.0.1', port: 1, advertisedUrl: `http://${id}.test:9901` } as AppConfig;
    const repo = new SessionLeaseRepository(db.service);
    const ownership = new SessionOwnership(config, db.service, repo, { now: () => clock });
    const sessions = new SessionService(config, noRows, db.service, undefined, ownership, repo);
    await sessions.onModuleInit();
    const generator = new EmbeddingGenerator(new HashingEmbeddingProvider(), locks.semaphore(`memory.embedding.${id}`, LockOrder.EMBEDDING, 5), 1_000);
    const memory = new MemoryService({ ...TEST_MEMORY_OPTIONS, now: () => clock }, db.service, sessions, locks.resolve(LockName.MEMORY), generator);
    memory.onModuleInit();
    const made = { db, ownership, sessions, memory };
    instances.push(made);
    return made;
  }

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    clock = 1_000_000;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-mem-own-'));
    file = path.join(dir, 'db.sqlite');
    const setup = openStandaloneDatabase(file);
    await applyMigrations(setup.connection, MIGRATIONS);
    setup.close();
  });
  afterEach(async () => {
    for (const i of instances.splice(0)) {
      await i.memory.beforeApplicationShutdown();
      await i.sessions.beforeApplicationShutdown();
      i.db.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const note = (word: string) => ({ event: { type: 'note', situation: `saw ${word}` }, importance: 0.5 });

  it('a session lost to another instance drops its index here; taken back, its index is reloaded with what was stored elsewhere', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.memory.store(id, note('alpha'));
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(1);
    expect(a.memory.stats().sessions_loaded).toBe(1);
    // A's bot goes idle there; the lease lapses and B gets the bot, which stores a memory on B.
    clock += TTL + 1;
    expect(await b.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    await b.memory.store(id, note('beta'));
    // A's renewal finds the lease taken: the session is evicted, and its memory index with it
    // (no stale index kept, no consolidation of a session served elsewhere).
    await a.ownership.renew();
    expect(a.sessions.exists(id)).toBe(false);
    expect(a.memory.stats().sessions_loaded).toBe(0);
    // B's turn ends the same way; A gets the bot back and sees both memories.
    clock += TTL + 1;
    expect(await a.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(2);
  });

  it('a take-over (SessionService adopt) also drops the index loaded before: it never reuses a stale one', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.memory.store(id, note('alpha'));
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(1);
    clock += TTL + 1;
    expect(await b.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    await b.memory.store(id, note('beta'));
    await b.memory.store(id, note('gamma'));
    // No renewal on A meanwhile (paused): it learns of the take-over only when it takes the bot back.
    clock += TTL + 1;
    expect(await a.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    expect((await a.memory.retrieve(id, { type: 'note' }, 10)).total_memories).toBe(3);
  });
});

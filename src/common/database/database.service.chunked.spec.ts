import Database from 'better-sqlite3';
import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStandaloneDatabase, type StandaloneDatabase } from './database.test-kit';

describe('DatabaseService.writeChunked', () => {
  let dir: string;
  let db: StandaloneDatabase;
  const count = () => db.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get();

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-chunk-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    db.connection.exec('CREATE TABLE interaction_history (id INTEGER PRIMARY KEY, player_id INTEGER NOT NULL CHECK (player_id >= 0))');
  });

  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('commits one transaction per chunk and lets the event loop run between chunks', async () => {
    const events: string[] = [];
    const items = Array.from({ length: 250 }, (_, i) => i);
    const result = await db.service.writeChunked(
      items,
      async (tx, chunk) => {
        events.push(`chunk ${chunk[0]}..${chunk[chunk.length - 1]}`);
        // Scheduled inside a transaction: must run before the next chunk starts.
        setImmediate(() => events.push(`loop after ${chunk[0]}`));
        for (const i of chunk) await tx.run('INSERT INTO interaction_history (player_id) VALUES (?)', [i]);
      },
      { chunkSize: 100 },
    );
    expect(result).toEqual({ written: 250 });
    expect(count()).toBe(250);
    expect(db.service.counters.commits).toBe(3);
    expect(events.slice(0, 5)).toEqual(['chunk 0..99', 'loop after 0', 'chunk 100..199', 'loop after 100', 'chunk 200..249']);
  });

  it('stops at the first failing chunk: the earlier chunks stay committed, the failing one is rolled back', async () => {
    const items = Array.from({ length: 250 }, (_, i) => (i === 230 ? -1 : i));
    const result = await db.service.writeChunked(
      items,
      async (tx, chunk) => {
        for (const i of chunk) await tx.run('INSERT INTO interaction_history (player_id) VALUES (?)', [i]);
      },
      { chunkSize: 100 },
    );
    expect(result.written).toBe(200);
    expect(String(result.error)).toMatch(/CHECK constraint failed/);
    expect(count()).toBe(200);
    expect(db.service.counters).toMatchObject({ commits: 2, rollbacks: 1 });
  });

  it('writes nothing, and opens no transaction, for no items', async () => {
    const body = jest.fn();
    await expect(db.service.writeChunked([], body)).resolves.toEqual({ written: 0 });
    expect(body).not.toHaveBeenCalled();
    expect(db.service.counters).toMatchObject({ commits: 0, rollbacks: 0 });
  });
});

describe('DatabaseService.rehearse', () => {
  let dir: string;
  let db: StandaloneDatabase;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-rehearse-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    db.connection.exec('CREATE TABLE interaction_history (id INTEGER PRIMARY KEY, player_id INTEGER NOT NULL)');
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the body inside a transaction that is rolled back: statements run, nothing written, nothing counted', async () => {
    let seen = 0;
    await expect(
      db.service.rehearse(async (tx) => {
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (?)', [1]);
        seen = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM interaction_history'))!.n;
      }),
    ).resolves.toBe(true);
    expect(seen).toBe(1);
    expect(db.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(db.connection.inTransaction).toBe(false);
    expect(db.service.counters).toMatchObject({ commits: 0, rollbacks: 0 });
  });

  it('gives up (false) rather than wait while another connection holds the write lock', async () => {
    const other = new Database(path.join(dir, 'db.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      await expect(db.service.rehearse((tx) => tx.run('INSERT INTO interaction_history (player_id) VALUES (?)', [1]))).resolves.toBe(false);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(db.connection.inTransaction).toBe(false);
  });
});

import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { until } from '../testing/wait.test-kit';
import { openStandaloneDatabase, type StandaloneDatabase } from './database.test-kit';
import { SPEC_WAL_AUTOCHECKPOINT } from './sqlite-pragmas';
import { BACKSTOP_WAL_PAGES, WalCheckpointer } from './wal-checkpointer.service';

/** Needs the built worker entry (dist/): `npm test` builds before jest. */
describe('WalCheckpointer', () => {
  let dir: string;
  let file: string;
  let db: StandaloneDatabase;
  let checkpointer: WalCheckpointer;
  const autocheckpoint = () => db.connection.pragma('wal_autocheckpoint', { simple: true });
  const writeRows = (n: number) =>
    db.service.writeChunked(
      Array.from({ length: n }, (_, i) => i),
      async (tx, chunk) => {
        for (const i of chunk) await tx.run('INSERT INTO interaction_history (player_id, note) VALUES (?, ?)', [i, 'x'.repeat(200)]);
      },
    );

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-ckpt-'));
    file = path.join(dir, 'db.sqlite');
    db = openStandaloneDatabase(file);
    db.connection.exec('CREATE TABLE interaction_history (id INTEGER PRIMARY KEY, player_id INTEGER NOT NULL, note TEXT)');
    checkpointer = new WalCheckpointer(db.service);
  });

  afterEach(async () => {
    await checkpointer.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('checkpoints the WAL into the database file from its worker while the connection only keeps a backstop', async () => {
    expect(autocheckpoint()).toBe(SPEC_WAL_AUTOCHECKPOINT);
    checkpointer.start(10);
    await until(() => checkpointer.running, 'checkpoint worker ready');
    expect(autocheckpoint()).toBe(BACKSTOP_WAL_PAGES);
    const before = fs.statSync(file).size;
    await writeRows(5000);
    // The engine's connection did not checkpoint (far below the backstop): the worker did.
    await until(() => db.service.counters.wal_checkpoints > 0 && fs.statSync(file).size > before + 500_000, 'pages copied into the database file');
    expect(db.service.counters.wal_checkpoint_errors).toBe(0);
    expect(db.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(5000);
  });

  it('gives checkpoints back to the connection when stopped, and when its worker dies', async () => {
    checkpointer.start(10);
    await until(() => checkpointer.running, 'checkpoint worker ready');
    await checkpointer.stop();
    expect(checkpointer.running).toBe(false);
    expect(autocheckpoint()).toBe(SPEC_WAL_AUTOCHECKPOINT);

    checkpointer.start(10);
    await until(() => checkpointer.running, 'checkpoint worker ready again');
    expect(autocheckpoint()).toBe(BACKSTOP_WAL_PAGES);
    await (checkpointer as unknown as { worker: Worker }).worker.terminate();
    await until(() => !checkpointer.running && autocheckpoint() === SPEC_WAL_AUTOCHECKPOINT, 'inline checkpoints restored');
    // Writes go on, checkpointed inline again.
    await writeRows(100);
    expect(db.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(100);
  });
});

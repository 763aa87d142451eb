import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SQLITE_PRAGMAS, WAL_SIZE_LIMIT_BYTES } from '../src/common/database/sqlite-pragmas';
import { BACKSTOP_WAL_PAGES, WalCheckpointer } from '../src/common/database/wal-checkpointer.service';
import { until } from '../src/common/testing/wait.test-kit';
import { freePort, request, spawnEngine, startEngine, tempDir } from './support/engine';

describe('database on first start', () => {
  it('creates DATA_DIR/openkore-ai.db with the schema and the spec pragmas on the live connection', async () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const e = await startEngine({ DATA_DIR: dataDir });
    try {
      expect(fs.existsSync(path.join(dataDir, 'openkore-ai.db'))).toBe(true);
      const { DataSource } = await import('typeorm');
      const ds = e.engine.app.get(DataSource);
      const db = (ds.driver as unknown as { databaseConnection: Database.Database }).databaseConnection;
      const read = (name: string) => db.pragma(name, { simple: true });
      expect(read('journal_mode')).toBe('wal');
      expect(read('busy_timeout')).toBe(5000);
      expect(read('synchronous')).toBe(1); // NORMAL
      expect(read('cache_size')).toBe(-64000);
      // The spec's 1000 pages apply until the checkpoint worker runs; then only a far backstop.
      const checkpointer = e.engine.app.get(WalCheckpointer);
      await until(() => checkpointer.running, 'WAL checkpoint worker');
      expect(read('wal_autocheckpoint')).toBe(BACKSTOP_WAL_PAGES);
      expect(read('temp_store')).toBe(2); // MEMORY
      expect(read('foreign_keys')).toBe(1);
      // Freed pages go back to the file system (incremental vacuum), and the WAL is cut back after a reset.
      expect(read('auto_vacuum')).toBe(2); // INCREMENTAL
      expect(read('journal_size_limit')).toBe(WAL_SIZE_LIMIT_BYTES);
      expect(SQLITE_PRAGMAS.map(([n]) => n).sort()).toEqual(
        ['busy_timeout', 'cache_size', 'foreign_keys', 'journal_mode', 'synchronous', 'temp_store', 'wal_autocheckpoint'],
      );
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>;
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['player_sessions', 'migrations']));
      // Every tick writes decision_log: only the tier index is kept (see the drop migration).
      const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decision_log'`).all() as Array<{ name: string }>).map((i) => i.name);
      expect(indexes).toContain('idx_decision_log_tier');
      expect(indexes).not.toContain('idx_decision_log_session');
    } finally {
      await e.stop();
    }
  });

  it('a restart keeps sessions and does not re-run migrations', async () => {
    const dataDir = tempDir();
    const first = await startEngine({ DATA_DIR: dataDir });
    const hs = await request(`${first.url}/api/v1/handshake`, { body: { client: 'a', client_version: '1' } });
    await first.stop();
    const second = await startEngine({ DATA_DIR: dataDir });
    try {
      const res = await request(`${second.url}/api/v1/sessions/${hs.body.data.session_id}`);
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});

describe('session expiry', () => {
  it('a session idle past SESSION_TTL_MS expires and is no longer served', async () => {
    const e = await startEngine({ SESSION_TTL_MS: '1000' });
    try {
      const hs = await request(`${e.url}/api/v1/handshake`, { body: { client: 'a', client_version: '1' } });
      const id = hs.body.data.session_id as string;
      expect((await request(`${e.url}/api/v1/sessions/${id}`)).status).toBe(200);
      const { SessionService } = await import('../src/modules/session');
      // Drive the sweep with a clock past the TTL instead of waiting for the timer.
      await e.engine.app.get(SessionService).sweep(Date.now() + 1_001);
      const gone = await request(`${e.url}/api/v1/sessions/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.body.error.code).toBe('NOT_FOUND');
    } finally {
      await e.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, refuses new connections, then closes', async () => {
    let enteredSlow!: () => void;
    const slowEntered = new Promise<void>((r) => (enteredSlow = r));
    let finishSlow!: () => void;
    const slowMayFinish = new Promise<void>((r) => (finishSlow = r));
    const e = await startEngine(
      {},
      {
        beforeInit: (app) => {
          app.getHttpAdapter().getInstance().get('/test/slow', async () => {
            enteredSlow();
            await slowMayFinish;
            return { done: true };
          });
        },
      },
    );
    const inFlight = request(`${e.url}/test/slow`);
    await slowEntered;
    const stopping = e.stop();
    // The listener closes at once: a new connection is refused while the old request still runs.
    await expect(fetch(`${e.url}/health`)).rejects.toThrow();
    finishSlow();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ done: true });
    // Not answered yet when the drain began: it tells its client to close the connection.
    expect(res.headers.get('connection')).toBe('close');
    await stopping;
  });

  it('SIGTERM stops a real process with exit code 0 after draining', async () => {
    const proc = await spawnEngine({ DATA_DIR: tempDir() });
    const res = await request(`${proc.url}/health`);
    expect(res.status).toBe(200);
    const code = await proc.kill('SIGTERM');
    expect(code).toBe(0);
    expect(proc.logs.join('')).toContain('"stopped"');
  });
});

describe('npm start layout', () => {
  it('serves both listeners (API and compat port) from one process', async () => {
    const compatPort = await freePort();
    const proc = await spawnEngine({ DATA_DIR: tempDir(), COMPAT_PORT: String(compatPort) });
    try {
      expect(proc.compatPort).toBe(compatPort);
      expect((await request(`${proc.url}/api/v1/health`)).status).toBe(200);
      expect((await request(`http://127.0.0.1:${compatPort}/api/v1/health`)).status).toBe(200);
    } finally {
      await proc.kill();
    }
  });
});

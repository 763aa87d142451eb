import type { DatabaseService } from '../../common/database/database.service';
import { StorageGuard } from '../../common/database/storage-guard';
import type { SessionService } from '../session/session.service';
import type { GameState } from './game-state';
import { StateService } from './state.service';

const state = (hp: number) => ({ character: { name: 'K', hp } }) as unknown as GameState;

describe('StateService shutdown', () => {
  it('writes an update applied while a tick flush was running', async () => {
    const written: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    type Tx = { run: (sql: string, params: unknown[]) => void };
    const write = async (fn: (tx: Tx) => void) => {
      const versions: number[] = [];
      fn({ run: (_sql, params) => versions.push(params[1] as number) });
      if (calls++ === 0) await gate;
      written.push(versions);
    };
    const db = {
      storage: new StorageGuard(),
      write,
      writeChunked: async <T>(items: T[], body: (tx: Tx, chunk: T[]) => void) => {
        await write((tx) => body(tx, items));
        return { written: items.length };
      },
    } as unknown as DatabaseService;
    const svc = new StateService(db, {} as SessionService);
    await svc.apply('s1', { full: state(1) });
    const tick = svc.flush();
    await svc.apply('s1', { full: state(2) });
    const shutdown = svc.beforeApplicationShutdown();
    release();
    await Promise.all([tick, shutdown]);
    expect(written).toEqual([[1], [2]]);
  });
});

import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, LockName } from '../../common/concurrency';
import { until } from '../../common/testing/wait.test-kit';
import type { AppConfig } from '../../config/app-config';
import type { HealthService } from '../health';
import { TABLE_FILES } from './tables';
import { TablesService } from './tables.service';

// The real files, but each read observable and holdable by the test.
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  return { ...actual, readFile: jest.fn(actual.readFile), stat: jest.fn(actual.stat) };
});
const readFile = fsp.readFile as unknown as jest.Mock;
const actualReadFile = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises').readFile;

const SHIPPED = path.resolve(__dirname, '..', '..', '..', 'tables');

describe('TablesService reload (CONFIG)', () => {
  let dir: string;
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-tables-'));
    for (const file of Object.values(TABLE_FILES)) fs.copyFileSync(path.join(SHIPPED, file), path.join(dir, file));
  });
  afterEach(() => {
    readFile.mockReset();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two reloads never cross: the tables in force are the files as the later reload read them', async () => {
    const junkFile = path.join(dir, TABLE_FILES.junkItems);
    const configLock = createLockManager().resolve(LockName.CONFIG);
    const service = new TablesService({ tablesDir: dir } as AppConfig, configLock, {
      registerComponent: () => undefined,
    } as unknown as HealthService);

    // The first reload reads the junk table as it is now, then is held before it can publish.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const firstRead = new Promise<void>((resolve) => (reading = resolve));
    readFile.mockImplementation(async (file: string, encoding: BufferEncoding) => {
      const text = await actualReadFile(file, encoding);
      if (file === junkFile && readFile.mock.calls.filter(([f]) => f === junkFile).length === 1) {
        reading();
        await held;
      }
      return text;
    });

    const first = service.reload();
    await firstRead;
    // The file changes; a second reload starts and is given every chance to run.
    const junk = JSON.parse(fs.readFileSync(junkFile, 'utf8')) as { source: string[] };
    fs.writeFileSync(junkFile, JSON.stringify({ ...junk, source: ['edited after the first reload read it'] }));
    let secondDone = false;
    const second = service.reload().finally(() => (secondDone = true));
    // Until the second reload has either published (nothing keeps it out) or queued for CONFIG.
    await until(() => secondDone || configLock.waiters.size > 0, 'the second reload to publish or queue for CONFIG');
    release();
    await Promise.all([first, second]);

    expect(service.current.sources.junkItems).toEqual(['edited after the first reload read it']);
    expect(service.current.version).toBe(2);
  });
});

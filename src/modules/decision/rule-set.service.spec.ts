import { Logger } from '@nestjs/common';
import * as fs from 'node:fs/promises';
import { createLockManager, LockName } from '../../common/concurrency';
import { until } from '../../common/testing/wait.test-kit';
import type { AppConfig } from '../../config/app-config';
import { RuleSetService } from './rule-set.service';

// The rules file as the service reads it, under the test's control (when each read answers).
jest.mock('node:fs/promises', () => ({ stat: jest.fn(), readFile: jest.fn() }));
const stat = fs.stat as unknown as jest.Mock;
const readFile = fs.readFile as unknown as jest.Mock;

const rulesNamed = (name: string) => JSON.stringify({ rules: [{ name, priority: 1, when: {}, action: { type: 'SIT' }, reason: name }] });

describe('RuleSetService reload (CONFIG)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('two reloads never cross: the rules in force are the file as the later reload read it', async () => {
    const configLock = createLockManager().resolve(LockName.CONFIG);
    const service = new RuleSetService({ rulesFile: '/rules.json' } as AppConfig, configLock);
    stat.mockResolvedValue({ size: 100 });
    // The first reload reads the file as it was (v1) but slowly; the second reads it as it is now (v2).
    let answerFirst!: () => void;
    readFile.mockImplementationOnce(() => new Promise((resolve) => (answerFirst = () => resolve(rulesNamed('v1')))));
    readFile.mockImplementationOnce(() => Promise.resolve(rulesNamed('v2')));

    const first = service.reload();
    await until(() => readFile.mock.calls.length === 1, 'the first reload to read the file');
    let secondDone = false;
    const second = service.reload().finally(() => (secondDone = true));
    // Until the second reload has either published (nothing keeps it out) or queued for CONFIG.
    await until(() => secondDone || configLock.waiters.size > 0, 'the second reload to publish or queue for CONFIG');
    answerFirst();
    await Promise.all([first, second]);

    expect(readFile).toHaveBeenCalledTimes(2);
    expect(service.rules.rules.map((r) => r.name)).toEqual(['v2']);
    expect(service.rules.version).toBe(2);
  });
});

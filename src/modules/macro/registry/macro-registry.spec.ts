import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, detached, heldLocks, LockName, type LockManager, withLock } from '../../../common/concurrency';
import { MacroLocks } from '../macro-locks';
import { MemoryMacroVersionStore } from '../macro-version.store';
import { MacroRetiredError } from '../macro.errors';
import { MacroRegistry } from './macro-registry';

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('MacroRegistry (real files, real locks)', () => {
  let dir: string;
  let manager: LockManager;
  let store: MemoryMacroVersionStore;
  let registry: MacroRegistry;

  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  };
  const macro = (name: string, ...lines: string[]) => `macro ${name} {\n${lines.map((l) => `    ${l}`).join('\n')}\n}\n`;
  const version = (name: string) => registry.catalog.macros.get(name)?.version;
  const lease = (name: string) => registry.acquireForExecution(name, { task: `test:${name}` });

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okai-reg-')));
    manager = createLockManager({ logger: silent });
    store = new MemoryMacroVersionStore();
    registry = new MacroRegistry(new MacroLocks(manager.resolve(LockName.MACRO)), store, {
      reloadTimeoutMs: 300,
      versionsKeep: 3,
      executionLockTimeoutMs: 2_000,
      logger: silent,
    });
    registry.setRoot(dir);
  });
  afterEach(async () => {
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads every file, counts versions per block, and keeps unchanged blocks at their version', async () => {
    write('a.txt', macro('one', 'log 1') + macro('two', 'log 2'));
    write('sub/b.txt', 'automacro auto {\n    CurrentHP < 10%\n    call one\n}\n');
    const outcomes = await registry.syncAll();
    expect(outcomes.map((o) => [o.file, o.status])).toEqual([
      ['a.txt', 'loaded'],
      ['sub/b.txt', 'loaded'],
    ]);
    expect([version('one'), version('two'), registry.catalog.automacros.get('auto')?.version]).toEqual([1, 1, 1]);

    write('a.txt', `# moved down\n${macro('one', 'log 1')}${macro('two', 'log 2 again')}`);
    const edit = await registry.schedule('a.txt');
    expect(edit).toMatchObject({ status: 'loaded', versions: { 'macro:two': 2 } });
    expect([version('one'), version('two')]).toEqual([1, 2]);
    expect(registry.catalog.macros.get('one')?.line).toBe(2);

    // Same content again (a touch): nothing happens.
    write('a.txt', `# moved down\n${macro('one', 'log 1')}${macro('two', 'log 2 again')}`);
    expect((await registry.schedule('a.txt')).status).toBe('unchanged');
    expect((await store.history('macro', 'two', 10)).map((h) => h.version)).toEqual([2, 1]);
  });

  it('keeps only the last N versions per macro', async () => {
    for (let i = 1; i <= 5; i++) {
      write('a.txt', macro('m', `log ${i}`));
      await registry.schedule('a.txt');
    }
    expect(version('m')).toBe(5);
    expect((await store.history('macro', 'm', 10)).map((h) => h.version)).toEqual([5, 4, 3]);
  });

  it('an invalid edit never replaces the running version and is recorded with its errors', async () => {
    write('a.txt', macro('m', 'log good'));
    await registry.syncAll();
    write('a.txt', 'macro m {\n    log bad\n    doo sit\n');
    const outcome = await registry.schedule('a.txt');
    expect(outcome.status).toBe('rejected');
    // eventMacro refuses a file whose block is never closed (and looks no further).
    expect(outcome.rejection?.errors.map((e) => `${e.code}@${e.line}`)).toEqual(['UNBALANCED_BRACES@1']);
    expect(registry.catalog.macros.get('m')).toMatchObject({ version: 1, content: expect.stringContaining('log good') });
    expect(registry.lastRejection('macro', 'm')).toMatchObject({ code: 'VALIDATION', file: 'a.txt' });
    expect(registry.currentErrors('macro', 'm')?.errors).toHaveLength(1);
    // An unknown condition key makes eventMacro's loader die: refused too, at its line.
    write('a.txt', `${macro('m', 'log good')}automacro a {\n    hp < 10%\n    call m\n}\n`);
    const unknown = await registry.schedule('a.txt');
    expect(unknown.rejection?.errors.map((e) => `${e.code}@${e.line}`)).toEqual(['UNKNOWN_CONDITION@5']);
    expect(registry.catalog.automacros.size).toBe(0);
  });

  it('a reload waits for the running execution, then swaps; executions that start meanwhile get the new version', async () => {
    write('a.txt', macro('m', 'log v1'));
    await registry.syncAll();
    const running = await lease('m');
    expect(registry.activeExecutions('m')).toBe(1);

    write('a.txt', macro('m', 'log v2'));
    const reload = registry.schedule('a.txt');
    await until(() => registry.reloadPending('m'));
    const late = lease('m'); // queues behind the waiting writer (fair RW lock)
    await sleep(50);
    expect(version('m')).toBe(1);
    expect(running.catalog.macros.get('m')?.content).toContain('v1');

    running.release();
    expect((await reload).status).toBe('loaded');
    const next = await late;
    expect(next.entry).toMatchObject({ version: 2, content: expect.stringContaining('v2') });
    next.release();
    expect(registry.activeExecutions('m')).toBe(0);
  });

  it('a reload that outlasts its bound fails cleanly, keeps the old version, and is retried by the next rescan', async () => {
    write('a.txt', macro('m', 'log v1'));
    await registry.syncAll();
    const running = await lease('m');
    write('a.txt', macro('m', 'log v2'));
    const started = Date.now();
    const outcome = await registry.schedule('a.txt');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(outcome).toMatchObject({ status: 'rejected', rejection: { code: 'LOCK_TIMEOUT' } });
    expect(outcome.rejection?.message).toMatch(/1 running execution\(s\) of m; the previous version keeps serving/);
    expect(version('m')).toBe(1);
    expect(registry.reloadPending('m')).toBe(false);

    running.release();
    await registry.syncAll(false);
    expect(version('m')).toBe(2);
    expect(registry.currentErrors('macro', 'm')).toBeUndefined();
  });

  it('swaps all the macros of a file together: none changes while one of them is still running', async () => {
    write('pair.txt', macro('a', 'log a1') + macro('b', 'log b1'));
    await registry.syncAll();
    const holdB = await lease('b');
    write('pair.txt', macro('a', 'log a2') + macro('b', 'log b2'));
    const reload = registry.schedule('pair.txt');
    await until(() => registry.reloadPending('b'));
    // `a` alone is free, yet it must not be swapped before `b`.
    expect(registry.catalog.macros.get('a')?.content).toContain('a1');
    holdB.release();
    await reload;
    expect([registry.catalog.macros.get('a')?.content, registry.catalog.macros.get('b')?.content].join()).toMatch(/a2[\s\S]*b2/);
  });

  it('an execution locks what its macro calls, so a reload of a callee waits for the caller', async () => {
    write('a.txt', macro('caller', 'call callee'));
    write('b.txt', macro('callee', 'log c1'));
    await registry.syncAll();
    const run = await lease('caller');
    expect([...run.names].sort()).toEqual(['callee', 'caller']);
    write('b.txt', macro('callee', 'log c2'));
    const reload = registry.schedule('b.txt');
    await until(() => registry.reloadPending('callee'));
    expect(run.catalog.macros.get('callee')?.content).toContain('c1');
    run.release();
    expect((await reload).status).toBe('loaded');
  });

  it('a deleted file retires its macros once their executions end, refusing new ones meanwhile', async () => {
    write('a.txt', macro('m', 'log x'));
    await registry.syncAll();
    const running = await lease('m');
    fs.unlinkSync(path.join(dir, 'a.txt'));
    const retire = registry.schedule('a.txt');
    await until(() => registry.catalog.macros.get('m')?.retiring === true);
    await expect(lease('m')).rejects.toBeInstanceOf(MacroRetiredError);
    await sleep(400); // longer than one bounded wait: it waits again, still serving the execution
    expect(registry.catalog.macros.has('m')).toBe(true);
    running.release();
    expect((await retire).status).toBe('deleted');
    expect(registry.catalog.macros.has('m')).toBe(false);
  });

  it('a name another file already serves stays with it: the later block is ignored, the rest of its file loads, and it loads once the name is free', async () => {
    write('a.txt', macro('shared', 'log a'));
    write('b.txt', macro('shared', 'log b') + macro('onlyB', 'log b'));
    await registry.syncAll();
    expect(registry.catalog.macros.get('shared')?.file).toBe('a.txt');
    expect(registry.catalog.macros.get('onlyB')?.file).toBe('b.txt');
    const b = () => registry.fileRecords().find((r) => r.file === 'b.txt')!;
    expect(b().blocks.map((x) => `${x.name}:${x.status}`)).toEqual(['shared:ignored', 'onlyB:loaded']);
    expect(b().warnings).toEqual([expect.objectContaining({ code: 'DUPLICATE_NAME', effect: 'block_ignored', line: 1, file: 'a.txt' })]);

    write('a.txt', macro('other', 'log a'));
    await registry.schedule('a.txt');
    await registry.whenIdle();
    expect(registry.catalog.macros.get('shared')?.file).toBe('b.txt');
    expect(b().warnings).toEqual([]);
  });

  it('judges the folder as one file: a call into another file resolves there, and a call left dangling is a warning on the caller', async () => {
    write('a.txt', macro('callee', 'log x'));
    write('b.txt', `${macro('caller', 'call callee')}automacro auto {\n    BaseLevel > 1\n    call callee\n}\n`);
    await registry.syncAll();
    const b = () => registry.fileRecords().find((r) => r.file === 'b.txt')!;
    expect(b().warnings).toEqual([]);
    expect(registry.catalog.automacros.has('auto')).toBe(true);

    // eventMacro would load the edit: the caller's line now stops the macro, the automacro is ignored.
    write('a.txt', macro('renamed', 'log x'));
    expect((await registry.schedule('a.txt')).status).toBe('loaded');
    await registry.whenIdle();
    expect(registry.catalog.macros.has('callee')).toBe(false);
    expect(registry.catalog.macros.has('caller')).toBe(true);
    expect(registry.catalog.automacros.has('auto')).toBe(false);
    expect(b().warnings.map((w) => `${w.code}@${w.line}:${w.effect}`)).toEqual(['UNDEFINED_MACRO@2:stops_macro', 'UNDEFINED_MACRO@6:block_ignored']);
    expect((await registry.check('a.txt', macro('renamed', 'log x'))).ok).toBe(true);

    // The callee comes back: the automacro loads again.
    write('a.txt', macro('callee', 'log again'));
    await registry.schedule('a.txt');
    await registry.whenIdle();
    expect(registry.catalog.automacros.has('auto')).toBe(true);
    expect(b().warnings).toEqual([]);
  });

  it('refuses a file whose include is missing, and loads it once the included file appears', async () => {
    write('main.txt', `!include parts/extra.txt\n${macro('usesExtra', 'call extra')}`);
    const first = await registry.schedule('main.txt');
    expect(first.rejection?.errors).toEqual([expect.objectContaining({ code: 'INCLUDE', effect: 'file_refused', line: 1 })]);
    expect(registry.catalog.macros.has('usesExtra')).toBe(false);

    write('parts/extra.txt', macro('extra', 'log x'));
    expect((await registry.schedule('parts/extra.txt')).status).toBe('loaded');
    await registry.whenIdle();
    expect(registry.catalog.macros.get('usesExtra')?.file).toBe('main.txt');
    expect(registry.fileRecords().find((r) => r.file === 'main.txt')?.warnings).toEqual([]);
  });

  it('re-checks the macros calling a Perl sub when the file defining it goes', async () => {
    write('perl.txt', 'sub helper {\n    return 1;\n}\n');
    write('user.txt', macro('usesSub', '$x = helper(1)'));
    await registry.syncAll();
    const user = () => registry.fileRecords().find((r) => r.file === 'user.txt')!;
    expect(user().warnings).toEqual([]);
    fs.unlinkSync(path.join(dir, 'perl.txt'));
    await registry.schedule('perl.txt');
    await registry.whenIdle();
    expect(user().warnings).toEqual([expect.objectContaining({ code: 'STATEMENT', effect: 'stops_macro', line: 2 })]);
  });

  it('keeps the old version when the versions cannot be recorded, and retries later', async () => {
    write('a.txt', macro('m', 'log 1'));
    await registry.syncAll();
    write('a.txt', macro('m', 'log 2'));
    store.failNext = new Error('disk full');
    expect((await registry.schedule('a.txt')).rejection?.code).toBe('STORE');
    expect(version('m')).toBe(1);
    await registry.syncAll();
    expect(version('m')).toBe(2);
  });

  it('never reads through a symlink that leaves the folder', async () => {
    const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okai-out-')));
    try {
      fs.writeFileSync(path.join(outside, 'x.txt'), macro('stolen', 'log x'));
      fs.symlinkSync(path.join(outside, 'x.txt'), path.join(dir, 'link.txt'));
      fs.symlinkSync(outside, path.join(dir, 'linkdir'));
      const outcomes = await registry.syncAll();
      expect(outcomes).toEqual([expect.objectContaining({ file: 'link.txt', status: 'rejected', rejection: expect.objectContaining({ code: 'PATH' }) })]);
      expect(registry.catalog.macros.size).toBe(0);
      // A symlink that stays inside is fine.
      write('real.txt', macro('inside', 'log x'));
      expect((await registry.schedule('real.txt')).status).toBe('loaded');
      fs.symlinkSync(path.join(dir, 'real.txt'), path.join(dir, 'alias.txt'));
      expect(await registry.schedule('alias.txt')).toMatchObject({ status: 'unchanged' });
      expect(registry.fileRecords().find((r) => r.file === 'alias.txt')?.warnings).toEqual([expect.objectContaining({ code: 'DUPLICATE_NAME', effect: 'block_ignored' })]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('runs its background work detached from the caller’s locks', async () => {
    write('a.txt', macro('m', 'log x'));
    await registry.syncAll();
    const db = manager.mutex('database-test', 9);
    // Taking MACRO (7) under a level-9 lock would violate the hierarchy; detached work does not inherit it.
    const seen = await withLock(db, () => detached(() => heldLocks()));
    expect(seen).toEqual([]);
    const run = await withLock(db, () => lease('m'));
    run.release();
    expect(registry.activeExecutions('m')).toBe(0);
  });

  it('tells a waiting editor when its content loaded, or when someone else wrote after it', async () => {
    write('a.txt', macro('m', 'log 1'));
    await registry.syncAll();
    const mine = macro('m', 'log mine');
    const wait = registry.expectFile('a.txt', sha(mine), 2_000);
    write('a.txt', mine);
    wait.armed();
    void registry.schedule('a.txt');
    expect(await wait.result).toMatchObject({ status: 'loaded', versions: { 'macro:m': 2 } });

    const lost = registry.expectFile('a.txt', sha(macro('m', 'log never')), 2_000);
    lost.armed();
    write('a.txt', macro('m', 'log theirs'));
    void registry.schedule('a.txt');
    expect(await lost.result).toMatchObject({ superseded: true });
  });
});

function sha(text: string): string {
  return require('node:crypto').createHash('sha256').update(text, 'utf8').digest('hex') as string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockManager } from '../src/common/concurrency';
import { MacroService } from '../src/modules/macro';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

/** Polls `read` until `done(value)` holds; fails with the last value after `timeoutMs`. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await read();
  }
  return last;
}

describe('macro registry over real HTTP with a real watched folder', () => {
  let e: RunningEngine;
  let dir: string;
  const api = (p: string) => `${e.url}/api/v1${p}`;
  const macro = (name: string, kind?: string) => request(api(`/macro/${name}${kind ? `?kind=${kind}` : ''}`));
  const list = async () => (await request(api('/macro'))).body.data;
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  };
  const handshake = async () => (await request(api('/handshake'), { body: { client: 'macro-test', client_version: '1' } })).body.data.session_id as string;
  const execution = async (id: string) => (await request(api(`/macro/executions/${id}`))).body.data;
  const execute = async (sessionId: string, name: string, parameters?: Record<string, unknown>) => {
    const res = await request(api('/macro/execute'), { body: { session_id: sessionId, macro_name: name, ...(parameters ? { parameters } : {}) } });
    expect(res.status).toBe(202);
    return res.body.data.execution_id as string;
  };
  const versionOf = async (name: string) => {
    const res = await macro(name);
    return res.status === 200 ? (res.body.data.version as number) : null;
  };

  beforeAll(async () => {
    dir = tempDir('okai-macros-');
    e = await startEngine({
      MACRO_DIR: dir,
      MACRO_DEBOUNCE_MS: '50',
      // Longer than the long executions below (they complete within it), shorter than slowRun's.
      MACRO_RELOAD_TIMEOUT_MS: '3000',
      MACRO_RESCAN_INTERVAL_MS: '0',
      MACRO_ACTION_TIMEOUT_MS: '5000',
    });
  });
  afterAll(() => e.stop());

  it('a dropped file serves as version 1; a broken edit keeps version 1 and is reported; a fixed edit becomes version 2', async () => {
    write('drop.txt', 'automacro dropAuto {\n    CurrentHP < 30%\n    call dropA\n}\n\nmacro dropA {\n    log one\n    pause 0.1\n}\n');
    const v1 = await until(() => macro('dropA'), (r) => r.status === 200, 10_000, 'dropA to load');
    expect(v1.body.data).toMatchObject({ name: 'dropA', kind: 'macro', version: 1, file: 'drop.txt', active_executions: 0, errors: [], last_rejected: null });
    expect(v1.body.data.content).toContain('log one');
    expect((await macro('dropAuto', 'automacro')).body.data).toMatchObject({ kind: 'automacro', version: 1 });

    // Broken: the macro's closing brace is missing (line 6 opens it).
    write('drop.txt', 'automacro dropAuto {\n    CurrentHP < 30%\n    call dropA\n}\n\nmacro dropA {\n    log two\n    pause 0.1\n');
    const rejected = await until(list, (l) => l.files.find((f: any) => f.file === 'drop.txt')?.rejection, 10_000, 'the rejection');
    const file = rejected.files.find((f: any) => f.file === 'drop.txt');
    expect(file.rejection).toMatchObject({ code: 'VALIDATION', errors: [{ code: 'UNBALANCED_BRACES', line: 6 }] });
    const still = (await macro('dropA')).body.data;
    expect(still.version).toBe(1);
    expect(still.content).toContain('log one');
    expect(still.errors).toEqual([expect.objectContaining({ code: 'UNBALANCED_BRACES', line: 6 })]);
    expect(still.last_rejected).toMatchObject({ code: 'VALIDATION', file: 'drop.txt' });

    write('drop.txt', 'automacro dropAuto {\n    CurrentHP < 30%\n    call dropA\n}\n\nmacro dropA {\n    log two\n    pause 0.1\n}\n');
    const v2 = await until(() => macro('dropA'), (r) => r.body.data?.version === 2, 10_000, 'version 2');
    expect(v2.body.data.content).toContain('log two');
    expect(v2.body.data.errors).toEqual([]);
    expect(v2.body.data.last_rejected).toMatchObject({ code: 'VALIDATION' });
    expect(v2.body.data.history.map((h: any) => h.version)).toEqual([2, 1]);
    // The automacro did not change: no new version.
    expect((await macro('dropAuto', 'automacro')).body.data.version).toBe(1);

    // A new file eventMacro refuses from the start (its loader dies on a condition it has no
    // module for): nothing serves, the refusal is listed with its first error and line.
    write('newbroken.txt', 'macro fresh {\n    doo sit\n}\nautomacro freshAuto {\n    hp < 5%\n    call fresh\n}\n');
    const l = await until(list, (x) => x.rejected.some((r: any) => r.name === 'fresh'), 10_000, 'the refused new file');
    expect(l.rejected.find((r: any) => r.name === 'fresh')).toMatchObject({ kind: 'macro', file: 'newbroken.txt', rejection: { errors: [{ code: 'UNKNOWN_CONDITION', line: 5 }] } });
    expect(l.files.find((f: any) => f.file === 'newbroken.txt')).toMatchObject({ status: 'rejected', blocks: [], first_error: { line: 5, code: 'UNKNOWN_CONDITION' } });
    expect((await macro('fresh')).status).toBe(404);
    const metrics = await fetch(`${e.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/openkore_macros_loaded\{kind="macro"\} \d+/);
    expect(metrics).toMatch(/openkore_macro_files_rejected [1-9]/);

    // A line eventMacro only stops on when it runs ("doo sit") does not refuse the file: it loads,
    // and the file's report lists its blocks and the warning with its line.
    write('newbroken.txt', 'macro fresh {\n    doo sit\n}\nautomacro freshAuto {\n    CurrentHP < 5%\n    call fresh\n}\n');
    const loaded = await until(list, (x) => x.files.find((f: any) => f.file === 'newbroken.txt')?.status === 'loaded', 10_000, 'the fixed file');
    expect(loaded.files.find((f: any) => f.file === 'newbroken.txt')).toMatchObject({
      first_error: null,
      blocks: [
        { kind: 'macro', name: 'fresh', line: 1, status: 'loaded' },
        { kind: 'automacro', name: 'freshAuto', line: 4, status: 'loaded' },
      ],
      warnings: [{ code: 'STATEMENT', effect: 'stops_macro', line: 2 }],
    });
  });

  it('watches subfolders and retires the macros of a deleted file', async () => {
    write('deep/er/sub.txt', 'macro subMacro {\n    log deep\n}\n');
    await until(() => macro('subMacro'), (r) => r.status === 200, 10_000, 'subMacro');
    expect((await macro('subMacro')).body.data.file).toBe('deep/er/sub.txt');
    fs.rmSync(path.join(dir, 'deep'), { recursive: true });
    await until(() => macro('subMacro'), (r) => r.status === 404, 10_000, 'subMacro to be retired');
  });

  it('a reload requested during a long execution waits for it', async () => {
    write('long.txt', 'macro longRun {\n    log start v1\n    pause 1.5\n    log end v1\n}\n');
    await until(() => versionOf('longRun'), (v) => v === 1, 10_000, 'longRun v1');
    const sid = await handshake();
    const id = await execute(sid, 'longRun');
    await until(() => execution(id), (x) => x.status === 'running', 5_000, 'running');

    write('long.txt', 'macro longRun {\n    log start v2\n    pause 1.5\n    log end v2\n}\n');
    const pending = await until(() => macro('longRun'), (r) => r.body.data.reload_pending === true, 5_000, 'reload pending');
    expect(pending.body.data).toMatchObject({ version: 1, active_executions: 1 });
    expect((await execution(id)).status).toBe('running');

    const v2 = await until(() => macro('longRun'), (r) => r.body.data.version === 2, 10_000, 'longRun v2');
    const done = await execution(id);
    expect(done).toMatchObject({ status: 'completed', version: 1, log: ['start v1', 'end v1'] });
    expect(Date.parse(v2.body.data.last_reload)).toBeGreaterThanOrEqual(Date.parse(done.finished_at));
    expect(v2.body.data).toMatchObject({ active_executions: 0, reload_pending: false, last_rejected: null });
  });

  it('a reload that outlasts the bound fails and the old version keeps serving', async () => {
    write('slow.txt', 'macro slowRun {\n    log slow v1\n    pause 30\n}\n');
    await until(() => versionOf('slowRun'), (v) => v === 1, 10_000, 'slowRun v1');
    const sid = await handshake();
    const id = await execute(sid, 'slowRun');
    await until(() => execution(id), (x) => x.status === 'running', 5_000, 'running');

    write('slow.txt', 'macro slowRun {\n    log slow v2\n}\n');
    const failed = await until(() => macro('slowRun'), (r) => r.body.data.last_rejected?.code === 'LOCK_TIMEOUT', 10_000, 'the reload to give up');
    expect(failed.body.data).toMatchObject({ version: 1, active_executions: 1, reload_pending: false });
    expect(failed.body.data.content).toContain('slow v1');
    expect(failed.body.data.last_rejected.message).toMatch(/previous version keeps serving/);
    expect((await execution(id)).status).toBe('running');

    // Asked again while the execution still runs: the bound holds, 503 LOCK_TIMEOUT, still version 1.
    const again = await request(api('/macro/reload'), { body: { macro_name: 'slowRun' } });
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('LOCK_TIMEOUT');
    expect(await versionOf('slowRun')).toBe(1);

    // Once the execution is over (stopped here), the same reload goes through.
    expect((await request(api(`/macro/executions/${id}/stop`), { method: 'POST' })).body.data).toMatchObject({ status: 'stopped', version: 1 });
    const reloaded = await request(api('/macro/reload'), { body: { macro_name: 'slowRun' } });
    expect(reloaded.status).toBe(200);
    expect(reloaded.body.data.files[0]).toMatchObject({ file: 'slow.txt', status: 'loaded', versions: { 'macro:slowRun': 2 } });
    expect((await macro('slowRun')).body.data).toMatchObject({ version: 2, errors: [] });
  });

  it('executions started during a reload never see a half-swapped macro', async () => {
    const pair = (v: number, pause: number) =>
      `macro pairA {\n    log A${v}\n    call pairB\n    pause ${pause}\n    call pairB\n}\n\nmacro pairB {\n    log B${v}\n}\n`;
    write('pair.txt', pair(1, 2));
    await until(() => versionOf('pairB'), (v) => v === 1, 10_000, 'pair v1');
    const first = await execute(await handshake(), 'pairA');
    await until(() => execution(first), (x) => x.status === 'running', 5_000, 'first running');

    // Observers: the two macros of one file always show the same generation.
    let observing = true;
    const mismatches: unknown[] = [];
    const observer = (async () => {
      while (observing) {
        const l = await list();
        const a = l.macros.find((m: any) => m.name === 'pairA')?.version;
        const b = l.macros.find((m: any) => m.name === 'pairB')?.version;
        if (a !== b) mismatches.push({ a, b });
      }
    })();

    write('pair.txt', pair(2, 0));
    await until(() => macro('pairA'), (r) => r.body.data.reload_pending === true, 5_000, 'reload pending');
    const sessions = await Promise.all(Array.from({ length: 6 }, handshake));
    const later = await Promise.all(sessions.map((s) => execute(s, 'pairA')));
    // They were all started while the reload was still waiting for the first execution.
    expect((await execution(first)).status).toBe('running');
    expect((await macro('pairA')).body.data.version).toBe(1);
    const results = await Promise.all([first, ...later].map((id) => until(() => execution(id), (x) => x.status === 'completed', 10_000, `execution ${id}`)));
    observing = false;
    await observer;

    expect(mismatches).toEqual([]);
    expect(results[0]).toMatchObject({ version: 1, versions: { pairA: 1, pairB: 1 }, log: ['A1', 'B1', 'B1'] });
    for (const r of results.slice(1)) expect(r).toMatchObject({ version: 2, versions: { pairA: 2, pairB: 2 }, log: ['A2', 'B2', 'B2'] });
    expect((await macro('pairB')).body.data.version).toBe(2);
  });

  it('an execution feeds the session’s action queue and ends once its actions are delivered and acknowledged', async () => {
    write('bot.txt', 'macro botRun {\n    do move $x 120\n    pause 0.05\n    do sit\n}\n\nmacro botWait {\n    pause 30\n}\n');
    await until(() => versionOf('botRun'), (v) => v === 1, 10_000, 'botRun');
    const sid = await handshake();
    const id = await execute(sid, 'botRun', { x: 100 });
    const tick = () => request(api('/state'), { body: { session_id: sid, game_state: pluginGameState({ monsters: [] }) } });
    const feedback = (action: string) => request(api('/action_feedback'), { body: { session_id: sid, action, status: 'success' } });

    const move = await until(tick, (r) => r.body.data?.action?.source === `macro:${id}`, 5_000, 'the MOVE_TO');
    expect(move.body.data.action).toMatchObject({ type: 'MOVE_TO', params: { x: 100, y: 120, command: 'move 100 120' } });
    expect((await execution(id)).actions).toMatchObject({ delivered: 1, acknowledged: 0 });
    expect((await feedback('move_to_position')).status).toBe(200);

    const sit = await until(tick, (r) => r.body.data?.action?.source === `macro:${id}`, 5_000, 'the SIT');
    expect(sit.body.data.action).toMatchObject({ type: 'SIT' });
    await feedback('rest');
    const done = await until(() => execution(id), (x) => x.status === 'completed', 5_000, 'completion');
    expect(done.actions).toMatchObject({ delivered: 2, acknowledged: 2, failed: 0 });

    // One macro at a time per session; unknown macro or session: 404.
    const busyId = await execute(sid, 'botWait');
    const busy = await request(api('/macro/execute'), { body: { session_id: sid, macro_name: 'botRun' } });
    expect(busy.status).toBe(409);
    expect((await request(api(`/macro/executions/${busyId}/stop`), { method: 'POST' })).body.data.status).toBe('stopped');
    expect((await request(api('/macro/execute'), { body: { session_id: sid, macro_name: 'noSuchMacro' } })).status).toBe(404);
    expect((await request(api('/macro/execute'), { body: { session_id: '00000000-0000-4000-8000-000000000000', macro_name: 'botRun' } })).status).toBe(404);
  });

  it('PUT validates, writes the file atomically inside MACRO_DIR and answers once loaded', async () => {
    const created = await request(api('/macro/putMacro'), { method: 'PUT', body: { content: 'do sit\npause 1' } });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ file: 'putMacro.txt', status: 'loaded', versions: { 'macro:putMacro': 1 } });
    expect(fs.readFileSync(path.join(dir, 'putMacro.txt'), 'utf8')).toBe('macro putMacro {\n    do sit\n    pause 1\n}\n');
    expect((await macro('putMacro')).body.data.version).toBe(1);

    const broken = await request(api('/macro/putMacro'), { method: 'PUT', body: { content: 'macro putMacro {\n    do sit\n    if ($x >) {\n    }\n' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('INVALID_REQUEST');
    expect(broken.body.error.details.errors).toEqual([expect.objectContaining({ code: 'UNBALANCED_BRACES', effect: 'file_refused', line: 1 })]);
    const unknown = await request(api('/macro/putMacro'), { method: 'PUT', body: { content: 'automacro putAuto {\n    aggressives > 2\n    call putMacro\n}\nmacro putMacro {\n    do sit\n}\n' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.errors).toEqual([expect.objectContaining({ code: 'UNKNOWN_CONDITION', line: 2 })]);
    expect(fs.readFileSync(path.join(dir, 'putMacro.txt'), 'utf8')).toContain('do sit');
    // A call no file answers is what eventMacro stops on when it runs it: the macro loads, with the warning.
    const dangling = await request(api('/macro/putDangling'), { method: 'PUT', body: { content: 'call nowhere' } });
    expect(dangling.status).toBe(200);
    expect(dangling.body.data.warnings).toEqual([expect.objectContaining({ code: 'UNDEFINED_MACRO', effect: 'stops_macro', line: 2 })]);

    // A macro of a multi-block file: only its block is replaced.
    write('multi.txt', 'macro multiA {\n    log A1\n}\n\n# keep me\nmacro multiB {\n    log B1\n}\n');
    await until(() => versionOf('multiB'), (v) => v === 1, 10_000, 'multi.txt');
    const edit = await request(api('/macro/multiB'), { method: 'PUT', body: { content: 'macro multiB {\n    log B2\n}' } });
    expect(edit.status).toBe(200);
    expect(edit.body.data.versions).toEqual({ 'macro:multiB': 2 });
    expect(fs.readFileSync(path.join(dir, 'multi.txt'), 'utf8')).toBe('macro multiA {\n    log A1\n}\n\n# keep me\nmacro multiB {\n    log B2\n}\n');
    expect(await versionOf('multiA')).toBe(1);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses names and paths that would leave MACRO_DIR', async () => {
    const outside = tempDir('okai-outside-');
    fs.writeFileSync(path.join(outside, 'evil.txt'), 'macro outsider {\n    do c pwned\n}\n');
    fs.symlinkSync(path.join(outside, 'evil.txt'), path.join(dir, 'link.txt'));
    fs.mkdirSync(path.join(outside, 'sub'));
    fs.writeFileSync(path.join(outside, 'sub', 'more.txt'), 'macro outsider2 {\n    do c pwned\n}\n');
    fs.symlinkSync(path.join(outside, 'sub'), path.join(dir, 'outdir'));

    const all = await request(api('/macro/reload'), { body: {} });
    expect(all.status).toBe(200);
    expect(all.body.data.files.find((f: any) => f.file === 'link.txt')).toMatchObject({ status: 'rejected', rejection: { code: 'PATH' } });
    expect(all.body.data.files.find((f: any) => f.file.startsWith('outdir'))).toBeUndefined();
    expect((await macro('outsider')).status).toBe(404);
    expect((await macro('outsider2')).status).toBe(404);

    // Encoded so that the client sends them as they are (a bare ".." segment is resolved away by the
    // URL itself); the server decodes them into the name.
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '..%2F', 'a..b', '.hidden', 'a%5Cb', '%2Fetc%2Fpasswd', 'x%00y', 'sub%2Fname']) {
      const get = await macro(name);
      expect({ name, status: get.status, code: get.body.error?.code }).toEqual({ name, status: 400, code: 'INVALID_REQUEST' });
      const put = await request(api(`/macro/${name}`), { method: 'PUT', body: { content: 'do sit' } });
      expect({ name, status: put.status }).toEqual({ name, status: 400 });
    }
    const put = await request(api('/macro/..%2Fescape'), { method: 'PUT', body: { content: 'do sit' } });
    expect(put.status).toBe(400);
    expect(fs.existsSync(path.join(path.dirname(dir), 'escape.txt'))).toBe(false);
    const reload = await request(api('/macro/reload'), { body: { macro_name: '../x' } });
    expect(reload.status).toBe(400);
    expect(fs.readFileSync(path.join(outside, 'evil.txt'), 'utf8')).toContain('outsider');
  });
});

describe('macro module shutdown', () => {
  it('closes the watcher, stops executions, releases locks and aborts waiting reloads', async () => {
    const dir = tempDir('okai-macros-');
    fs.writeFileSync(path.join(dir, 'forever.txt'), 'macro forever {\n    pause 60\n}\n');
    const e = await startEngine({ MACRO_DIR: dir, MACRO_DEBOUNCE_MS: '20', MACRO_RELOAD_TIMEOUT_MS: '60000' });
    const api = (p: string) => `${e.url}/api/v1${p}`;
    const sid = (await request(api('/handshake'), { body: { client: 'macro-test', client_version: '1' } })).body.data.session_id;
    const exec = await request(api('/macro/execute'), { body: { session_id: sid, macro_name: 'forever' } });
    const id = exec.body.data.execution_id;
    await until(() => request(api(`/macro/executions/${id}`)), (r) => r.body.data.status === 'running', 5_000, 'running');
    fs.writeFileSync(path.join(dir, 'forever.txt'), 'macro forever {\n    pause 1\n}\n');
    await until(() => request(api('/macro/forever')), (r) => r.body.data.reload_pending === true, 5_000, 'reload pending');

    const service = e.engine.app.get(MacroService);
    const locks = e.engine.app.get(LockManager);
    const started = Date.now();
    await e.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(service.executor.runningCount).toBe(0);
    expect(service.execution(id)).toMatchObject({ status: 'stopped', error: { code: 'SHUTDOWN' } });
    expect(service.registry.closed).toBe(true);
    expect(service.list().watching).toBe(false);
    const report = locks.getReport();
    expect(JSON.stringify(report.held)).not.toContain('macro');
    expect(JSON.stringify(report.waiting)).not.toContain('macro');
  });
});

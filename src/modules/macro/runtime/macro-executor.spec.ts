import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, LockName } from '../../../common/concurrency';
import { InvalidRequestError, NotFoundError } from '../../../common/errors/app.error';
import { type Action, type ActionPriority, ActionType, ConflictResolution, type QueuedAction } from '../../decision';
import type { GameState } from '../../state';
import { MacroLocks } from '../macro-locks';
import { MemoryMacroVersionStore } from '../macro-version.store';
import { MacroNotFoundError, SessionBusyError } from '../macro.errors';
import { MacroRegistry } from '../registry/macro-registry';
import type { ActionSink } from './action-delivery';
import { MacroExecutor, type MacroExecutorOptions } from './macro-executor';

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

type Entry = QueuedAction & { sessionId: string };

class FakeSink implements ActionSink {
  readonly enqueued: Entry[] = [];
  queueContents: Entry[] = [];
  outcomes: ConflictResolution[] = [];
  private delivered: Array<(sessionId: string, entry: QueuedAction) => void> = [];
  private feedbackListeners: Array<(e: { sessionId: string | undefined; action: string; success: boolean; reason?: string }) => void> = [];
  private seq = 0;

  queue(sessionId: string) {
    return { peekAll: () => this.queueContents.filter((e) => e.sessionId === sessionId) };
  }
  enqueue(sessionId: string, action: Action, priority: ActionPriority, source: string, ttlMs = 1000): ConflictResolution {
    const outcome = this.outcomes.shift() ?? ConflictResolution.QUEUE;
    const entry: Entry = { sessionId, action, priority, source, queuedAt: Date.now(), deadline: Date.now() + ttlMs, seq: ++this.seq };
    this.enqueued.push(entry);
    if (outcome !== ConflictResolution.REJECT) this.queueContents.push(entry);
    return outcome;
  }
  onActionDelivered(l: (sessionId: string, entry: QueuedAction) => void) {
    this.delivered.push(l);
  }
  onFeedback(l: (e: { sessionId: string | undefined; action: string; success: boolean; reason?: string }) => void) {
    this.feedbackListeners.push(l);
  }
  /** The bot's tick: the next queued action of the session is handed over. */
  deliver(sessionId: string): Entry | undefined {
    const i = this.queueContents.findIndex((e) => e.sessionId === sessionId);
    if (i < 0) return undefined;
    const [entry] = this.queueContents.splice(i, 1);
    for (const l of this.delivered) l(sessionId, entry);
    return entry;
  }
  feedback(sessionId: string, action: string, success = true) {
    for (const l of this.feedbackListeners) l({ sessionId, action, success });
  }
}

describe('MacroExecutor', () => {
  let dir: string;
  let registry: MacroRegistry;
  let sink: FakeSink;
  let sessions: Set<string>;
  let expire: (id: string) => void;
  let state: Partial<GameState['character']> | undefined;

  const setup = async (source: string, options: Partial<MacroExecutorOptions> = {}) => {
    fs.writeFileSync(path.join(dir, 'm.txt'), source);
    await registry.syncAll();
    return new MacroExecutor(
      registry,
      sink,
      { exists: (id) => sessions.has(id), onSessionExpired: (l) => (expire = l) },
      { current: () => (state ? ({ character: state } as GameState) : undefined) },
      { actionTimeoutMs: 1_000, executionTimeoutMs: 60_000, logger: silent, ...options },
    );
  };
  const flush = () => jest.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okai-exec-')));
    const manager = createLockManager({ logger: silent });
    registry = new MacroRegistry(new MacroLocks(manager.resolve(LockName.MACRO)), new MemoryMacroVersionStore(), {
      reloadTimeoutMs: 200,
      versionsKeep: 3,
      executionLockTimeoutMs: 1_000,
      logger: silent,
    });
    registry.setRoot(dir);
    sink = new FakeSink();
    sessions = new Set(['s1', 's2']);
    state = undefined;
  });
  afterEach(async () => {
    jest.useRealTimers();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('with fake timers', () => {
    it('pause waits exactly its seconds, holding the macro’s read lock the whole time', async () => {
      const ex = await setup('macro m {\n    log a\n    pause 5\n    log b\n}\n');
      jest.useFakeTimers();
      const { execution_id: id } = ex.start('s1', 'm');
      await flush();
      expect(ex.get(id)).toMatchObject({ status: 'running', log: ['a'], version: 1, current_line: 3 });
      expect(registry.activeExecutions('m')).toBe(1);
      await jest.advanceTimersByTimeAsync(4_999);
      expect(ex.get(id).log).toEqual(['a']);
      await jest.advanceTimersByTimeAsync(1);
      expect(ex.get(id)).toMatchObject({ status: 'completed', log: ['a', 'b'] });
      expect(registry.activeExecutions('m')).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('feeds each do into the queue, one at a time, each delivered then acknowledged', async () => {
      const ex = await setup('macro m {\n    do move $x 20\n    do sit\n    set macro_delay 2\n    do c hello\n}\n');
      jest.useFakeTimers();
      const { execution_id: id } = ex.start('s1', 'm', { x: '10' });
      await flush();
      expect(sink.enqueued).toHaveLength(1);
      expect(sink.enqueued[0]).toMatchObject({ sessionId: 's1', source: `macro:${id}`, priority: 2, action: { type: ActionType.MOVE_TO, params: { x: 10, y: 20 }, reason: 'macro m v1 line 2' } });
      sink.feedback('s1', 'move_to_position'); // not delivered yet: ignored
      sink.deliver('s1');
      await flush();
      expect(ex.get(id).actions).toEqual({ queued: 1, delivered: 1, acknowledged: 0, failed: 0 });
      expect(sink.enqueued).toHaveLength(1);
      sink.feedback('s1', 'attack_monster'); // someone else's action: ignored
      sink.feedback('s1', 'move_to_position');
      await flush();
      expect(sink.enqueued.map((e) => e.action.type)).toEqual([ActionType.MOVE_TO, ActionType.SIT]);
      sink.deliver('s1');
      await flush();
      sink.feedback('s1', 'rest', false);
      await flush();
      sink.deliver('s1');
      await flush();
      sink.feedback('s1', 'SEND_COMMAND');
      await flush();
      expect(ex.get(id).status).toBe('running'); // macro_delay after the last command
      await jest.advanceTimersByTimeAsync(2_000);
      expect(ex.get(id)).toMatchObject({ status: 'completed', actions: { queued: 3, delivered: 3, acknowledged: 2, failed: 1 } });
      expect(ex.get(id).log).toEqual(['line 3: rest failed']);
    });

    it('an action never delivered times out the execution at the bound, and its lock is released', async () => {
      const ex = await setup('macro m {\n    do sit\n    log never\n}\n');
      jest.useFakeTimers();
      const { execution_id: id } = ex.start('s1', 'm');
      await jest.advanceTimersByTimeAsync(999);
      expect(ex.get(id).status).toBe('running');
      await jest.advanceTimersByTimeAsync(1);
      expect(ex.get(id)).toMatchObject({ status: 'timed_out', error: { code: 'ACTION_TIMEOUT', line: 2 } });
      expect(ex.get(id).log).toEqual([]);
      expect(registry.activeExecutions('m')).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('a delivered action never acknowledged times out too', async () => {
      const ex = await setup('macro m {\n    do sit\n}\n');
      jest.useFakeTimers();
      const { execution_id: id } = ex.start('s1', 'm');
      await flush();
      sink.deliver('s1');
      await jest.advanceTimersByTimeAsync(1_000);
      expect(ex.get(id)).toMatchObject({ status: 'timed_out', error: { code: 'ACTION_TIMEOUT', message: expect.stringContaining('not acknowledged') } });
    });

    it('queues an action again when the queue dropped it, and retries a refusal, within the bound', async () => {
      const ex = await setup('macro m {\n    do sit\n}\n');
      jest.useFakeTimers();
      sink.outcomes = [ConflictResolution.REJECT];
      const { execution_id: id } = ex.start('s1', 'm');
      await flush();
      expect(sink.queueContents).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(200);
      expect(sink.queueContents).toHaveLength(1);
      sink.queueContents = []; // a tier's movement replaced it, say
      await jest.advanceTimersByTimeAsync(200);
      expect(sink.queueContents).toHaveLength(1);
      sink.deliver('s1');
      await flush();
      sink.feedback('s1', 'rest');
      await flush();
      expect(ex.get(id)).toMatchObject({ status: 'completed', actions: { queued: 2, delivered: 1, acknowledged: 1 } });
      expect(ex.get(id).log).toEqual(['line 2: action was dropped from the queue before delivery; queued again']);
    });

    it('stop and shutdown end a pause at once, clear its timers and release the lock', async () => {
      const ex = await setup('macro m {\n    pause 100\n}\n');
      jest.useFakeTimers();
      const a = ex.start('s1', 'm').execution_id;
      const b = ex.start('s2', 'm').execution_id;
      await flush();
      expect(registry.activeExecutions('m')).toBe(2);
      expect((await ex.stop(a)).status).toBe('stopped');
      await ex.close();
      expect(ex.get(b)).toMatchObject({ status: 'stopped', error: { code: 'SHUTDOWN' } });
      expect(registry.activeExecutions('m')).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
      expect(() => ex.start('s1', 'm')).toThrow();
    });

    it('bounds a whole execution, and stops it when its session expires', async () => {
      const ex = await setup('macro m {\n    pause 100\n}\n', { executionTimeoutMs: 5_000 });
      jest.useFakeTimers();
      const a = ex.start('s1', 'm').execution_id;
      await jest.advanceTimersByTimeAsync(5_000);
      expect(ex.get(a)).toMatchObject({ status: 'timed_out', error: { code: 'EXECUTION_TIMEOUT' } });
      const b = ex.start('s2', 'm').execution_id;
      await flush();
      expire('s2');
      await flush();
      expect(ex.get(b)).toMatchObject({ status: 'stopped', error: { code: 'SESSION_EXPIRED' } });
    });
  });

  it('runs eventMacro control flow: variables, if/elsif/else, while, goto, call with arguments, stop', async () => {
    state = { name: 'Knight1', hp: 300, max_hp: 1000, position: { map: 'prt_fild08', x: 1, y: 2 } };
    const ex = await setup(
      [
        'macro m {',
        '    $i = 0',
        '    while ($i < 3) {',
        '        $i++',
        '    }',
        '    if ($i == 2) {',
        '        log wrong',
        '    } elsif ($i == 3 && $.hp < 500) {',
        '        log i=$i hp=$.hp on $.map as $who',
        '    } else {',
        '        log wrong',
        '    }',
        '    call sub 2 two',
        '    $n = 0',
        '    :again',
        '    $n++',
        '    if ($n < 3) goto again',
        '    log n=$n sum=&eval($n + $i) param=$.param[1]',
        '    stop',
        '    log never',
        '}',
        'macro sub {',
        '    log sub $.param[0]',
        '    stop',
        '    log never',
        '}',
      ].join('\n'),
    );
    const { execution_id: id } = ex.start('s1', 'm', { who: 'me' });
    const done = await untilDone(ex, id);
    expect(done).toMatchObject({ status: 'completed', versions: { m: 1, sub: 1 } });
    // `call` runs the macro once and puts its arguments in @.param; `stop` ends the macro it is in.
    expect(done.log).toEqual(['i=3 hp=300 on prt_fild08 as me', 'sub 2', 'n=3 sum=6 param=two']);
    // Variables belong to the session (the bot), as in eventMacro: a later run sees them.
    expect(ex.sessionVariables('s1')).toMatchObject({ scalars: { i: '3', n: '3', who: 'me' }, arrays: { '.param': ['2', 'two'] } });
  });

  it('ends a runaway loop as failed instead of holding the event loop', async () => {
    const ex = await setup('macro m {\n    $x = 0\n    while ($x >= 0) {\n        $x++\n    }\n}\n', { maxSteps: 5_000 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const { execution_id: id } = ex.start('s1', 'm');
    const done = await untilDone(ex, id);
    clearInterval(ticker);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'RUNTIME_ERROR' } });
    expect([3, 4, 5]).toContain(done.error?.line);
    expect(done.error?.message).toMatch(/runaway/);
    expect(ticks).toBeGreaterThan(0);
  });

  it('fails a run-time error with its line (call of a macro that is not loaded)', async () => {
    const ex = await setup('macro m {\n    log before\n    call $target\n}\n');
    const { execution_id: id } = ex.start('s1', 'm', { target: 'ghost' });
    expect(await untilDone(ex, id)).toMatchObject({ status: 'failed', error: { code: 'RUNTIME_ERROR', line: 3, message: expect.stringContaining('ghost') }, log: ['before'] });
  });

  it('refuses unknown sessions and macros, automacros, and a second macro on a busy session', async () => {
    const ex = await setup('macro m {\n    pause 10\n}\nautomacro auto {\n    CurrentHP < 5%\n    call m\n}\n');
    expect(() => ex.start('nobody', 'm')).toThrow(NotFoundError);
    expect(() => ex.start('s1', 'ghost')).toThrow(MacroNotFoundError);
    expect(() => ex.start('s1', 'auto')).toThrow(InvalidRequestError);
    const id = ex.start('s1', 'm').execution_id;
    expect(() => ex.start('s1', 'm')).toThrow(SessionBusyError);
    await ex.stop(id);
    expect(ex.list({ sessionId: 's1' }).map((e) => e.status)).toEqual(['stopped']);
  });
});

async function untilDone(ex: MacroExecutor, id: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const v = ex.get(id);
    if (!['pending', 'running'].includes(v.status)) return v;
    if (Date.now() > deadline) throw new Error(`execution still ${v.status}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

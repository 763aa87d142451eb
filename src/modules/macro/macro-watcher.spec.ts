import { MacroWatcher, type WatchFn, type WatchHandle } from './macro-watcher';

class FakeWatch implements WatchHandle {
  listener: ((event: string, filename: string | Buffer | null) => void) | undefined;
  errorListener: ((err: Error) => void) | undefined;
  closed = false;
  close() {
    this.closed = true;
  }
  on(_event: 'error', listener: (err: Error) => void) {
    this.errorListener = listener;
    return this;
  }
  emit(event: string, filename: string | null) {
    this.listener!(event, filename);
  }
}

describe('MacroWatcher (fake timers)', () => {
  let handles: FakeWatch[];
  let files: string[];
  let rescans: number;
  const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const watch: WatchFn = (_dir, listener) => {
    const h = new FakeWatch();
    h.listener = listener;
    handles.push(h);
    return h;
  };
  const make = (opts: Partial<{ debounceMs: number; maxWaitMs: number }> = {}) =>
    new MacroWatcher('/macros', (f) => files.push(f), () => rescans++, { debounceMs: 100, logger, watch, ...opts });

  beforeEach(() => {
    jest.useFakeTimers();
    handles = [];
    files = [];
    rescans = 0;
  });
  afterEach(() => jest.useRealTimers());

  it('reads a file written in several chunks once, after the events stop', () => {
    const w = make();
    expect(w.start()).toBe(true);
    for (let i = 0; i < 5; i++) {
      if (i > 0) jest.advanceTimersByTime(60);
      handles[0].emit('change', 'farm.txt');
    }
    expect(files).toEqual([]);
    jest.advanceTimersByTime(99);
    expect(files).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(files).toEqual(['farm.txt']);
    expect(w.pendingTimers).toBe(0);
    w.close();
  });

  it('still reads a file that never stops changing, at least every maxWait', () => {
    const w = make({ maxWaitMs: 300 });
    w.start();
    for (let t = 0; t < 700; t += 50) {
      handles[0].emit('change', 'busy.txt');
      jest.advanceTimersByTime(50);
    }
    expect(files.length).toBeGreaterThanOrEqual(2);
    w.close();
  });

  it('debounces each file on its own, and handles an atomic replace (rename events) like a write', () => {
    const w = make();
    w.start();
    handles[0].emit('rename', 'a.txt');
    handles[0].emit('rename', '.a.txt.123.tmp');
    handles[0].emit('change', 'sub/b.txt');
    jest.advanceTimersByTime(100);
    expect(files.sort()).toEqual(['a.txt', 'sub/b.txt']);
    w.close();
  });

  it('ignores dot files and non-txt files; folder events and nameless events trigger a rescan', () => {
    const w = make();
    w.start();
    handles[0].emit('rename', '.hidden/x.txt');
    handles[0].emit('change', 'notes.md');
    handles[0].emit('change', 'backup.txt~');
    jest.advanceTimersByTime(200);
    expect(files).toEqual([]);
    expect(rescans).toBe(0);
    handles[0].emit('rename', 'newfolder');
    handles[0].emit('rename', null);
    jest.advanceTimersByTime(100);
    expect(rescans).toBe(1);
    w.close();
  });

  it('a failing OS watch is closed and reported, a rescan is scheduled, and start() restarts it', () => {
    const w = make();
    w.start();
    handles[0].errorListener!(new Error('EMFILE'));
    expect(handles[0].closed).toBe(true);
    expect(w.watching).toBe(false);
    expect(logger.warn).toHaveBeenCalled();
    jest.advanceTimersByTime(100);
    expect(rescans).toBe(1);
    expect(w.start()).toBe(true);
    expect(handles).toHaveLength(2);
    w.close();
  });

  it('clears every timer on close', () => {
    const w = make();
    w.start();
    handles[0].emit('change', 'late.txt');
    handles[0].emit('rename', null);
    expect(jest.getTimerCount()).toBe(2);
    w.close();
    expect(handles[0].closed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(files).toEqual([]);
    expect(rescans).toBe(0);
    expect(w.start()).toBe(false);
  });
});

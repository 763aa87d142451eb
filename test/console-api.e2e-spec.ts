import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockName } from '../src/common/concurrency';
import { until, untilValue } from '../src/common/testing/wait.test-kit';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

const TOKEN = 'console-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

interface SseEvent {
  event: string;
  data: any;
}

/** An open event stream read with fetch, as the page reads it. */
async function openStream(url: string, headers: Record<string, string> = auth) {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/v1/console/stream`, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  let ended = false;
  const reading = (async () => {
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1];
          events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
        }
      }
    } catch {
      /* aborted */
    }
    ended = true;
  })();
  return {
    res,
    events,
    get ended() {
      return ended;
    },
    close: async () => {
      controller.abort();
      await reading;
    },
    reading,
  };
}

async function handshake(url: string, character: string): Promise<string> {
  const res = await request(`${url}/api/v1/handshake`, { body: { client: 'test', client_version: '1', character_name: character }, headers: auth });
  expect(res.status).toBe(200);
  return res.body.data.session_id as string;
}

describe('console data routes', () => {
  let e: RunningEngine;
  let macroDir: string;
  beforeAll(async () => {
    macroDir = path.join(tempDir('okai-console-'), 'macros');
    fs.mkdirSync(macroDir);
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, CONSOLE_INTERVAL_MS: '250', CONSOLE_MAX_STREAMS: '2', MACRO_DIR: macroDir, MACRO_RESCAN_INTERVAL_MS: '0' });
  });
  afterAll(() => e.stop());

  it('need the token; the page and its vendored chart library do not', async () => {
    expect((await request(`${e.url}/api/v1/console/summary`)).status).toBe(401);
    expect((await request(`${e.url}/api/v1/console/stream`)).status).toBe(401);
    expect((await request(`${e.url}/api/v1/console/summary`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).body.error.code).toBe('INVALID_TOKEN');
    const page = await fetch(`${e.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    for (const asset of ['/console/console.js', '/console/console.css', '/console/vendor/uPlot.iife.min.js', '/console/vendor/uPlot.min.css']) {
      expect(html).toContain(asset);
      expect({ asset, status: (await fetch(`${e.url}${asset}`)).status }).toEqual({ asset, status: 200 });
    }
    // Only the two files the page uses are served from the library's folder.
    expect((await fetch(`${e.url}/console/vendor/uPlot.esm.js`)).status).toBe(404);
    expect((await fetch(`${e.url}/console/vendor/../../package.json`)).status).toBe(404);
  });

  it('summary: one row per driven session with its last decision, every lock of the hierarchy, PDCA, models, macros', async () => {
    const a = await handshake(e.url, 'ConsoleA');
    const b = await handshake(e.url, 'ConsoleB');
    for (const [sid, name, hp] of [[a, 'ConsoleA', 900], [b, 'ConsoleB', 100]] as const) {
      const res = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ name, hp }) }, headers: auth });
      expect([200, 202]).toContain(res.status);
    }
    const res = await request(`${e.url}/api/v1/console/summary`, { headers: auth });
    expect(res.status).toBe(200);
    const { summary, history } = res.body.data;
    expect(Array.isArray(history)).toBe(true);
    const rows = Object.fromEntries(summary.bots.rows.map((r: any) => [r.session_id, r]));
    expect(rows[a]).toMatchObject({ character: 'ConsoleA', map: 'prt_fild08', hp_pct: 90, state_version: 1, queue_depth: expect.any(Number), requests_waiting: 0 });
    expect(rows[b]).toMatchObject({ character: 'ConsoleB', hp_pct: 10, tier: 'reflex' });
    expect(rows[a].tier).toMatch(/^(reflex|rule|ml|llm)$/);
    expect(typeof rows[a].action).toBe('string');
    expect(summary.decisions.totals.total).toBeGreaterThanOrEqual(2);
    const locks = summary.locks.contention.map((l: any) => l.lock);
    expect(locks).toEqual(expect.arrayContaining(Object.values(LockName)));
    // Each state update above ran in its session's turn (STATE itself takes no lock: the snapshot
    // is published copy-on-write, docs/architecture.md).
    expect(summary.locks.contention.find((l: any) => l.lock === 'session').acquisitions).toBeGreaterThanOrEqual(2);
    expect(summary.pdca).toMatchObject({ cycle_running: false, current_phase: 'IDLE', history: [] });
    expect(summary.models).toMatchObject({ available: true, active: { version: expect.any(Number), accuracy: expect.any(Number) } });
    expect(summary.macros).toMatchObject({ available: true, last_failed_reload: null });
    expect(summary.server).toMatchObject({ token_required: true, interval_ms: 250 });

    const one = await request(`${e.url}/api/v1/console/bots/${b}`, { headers: auth });
    expect(one.body.data).toEqual(rows[b]);
    const unknown = await request(`${e.url}/api/v1/console/bots/nope`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
  });

  it('summary: the errors of the last failed macro reload, with their line numbers', async () => {
    fs.writeFileSync(
      path.join(macroDir, 'farm.txt'),
      ['automacro lowHP {', '    CurrentHP < 45%', '    timeout 3', '    call drink', '}', '', 'macro drink {', '    do is White Potion', '    pause 0.5', '}', ''].join('\n'),
    );
    await untilValue(
      async () => (await request(`${e.url}/api/v1/console/summary`, { headers: auth })).body.data.summary.macros,
      (m) => m.macros.length > 0,
      'the valid macro file loaded',
    );
    // The macro block is never closed: eventMacro refuses the whole file.
    fs.writeFileSync(
      path.join(macroDir, 'farm.txt'),
      ['automacro lowHP {', '    CurrentHP < 50%', '    call heal', '}', '', 'macro heal {', '    do is Red Potion', '    pause 1', ''].join('\n'),
    );
    const macros = await untilValue(
      async () => (await request(`${e.url}/api/v1/console/summary`, { headers: auth })).body.data.summary.macros,
      (m) => m.last_failed_reload !== null,
      'the refused edit reported',
    );
    expect(macros.last_failed_reload).toMatchObject({ file: 'farm.txt', code: 'VALIDATION' });
    expect(macros.last_failed_reload.errors.length).toBeGreaterThan(0);
    for (const err of macros.last_failed_reload.errors) expect(err.line).toBeGreaterThan(0);
    // The previous version keeps serving.
    expect(macros.macros.map((m: any) => m.name)).toContain('lowHP');
    expect(macros.files_rejected).toBe(1);
  });

  it('stream: hello with the history at once, then a summary with a new chart point every interval', async () => {
    const s = await openStream(e.url);
    try {
      expect(s.res.status).toBe(200);
      expect(s.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      await until(() => s.events.length >= 3, 'hello and two summaries');
      expect(s.events[0].event).toBe('hello');
      expect(s.events[0].data).toMatchObject({ summary: { bots: expect.any(Object) }, history: expect.any(Array) });
      const updates = s.events.slice(1);
      expect(updates.every((u) => u.event === 'summary')).toBe(true);
      expect(updates[1].data.sample.t).toBeGreaterThan(updates[0].data.sample.t);
      // A poller asks only for the points it does not have.
      const since = updates[1].data.sample.t;
      const polled = await request(`${e.url}/api/v1/console/summary?since=${since}`, { headers: auth });
      expect(polled.body.data.history.every((p: any) => p.t > since)).toBe(true);
      expect((await request(`${e.url}/api/v1/console/summary?since=-1`, { headers: auth })).status).toBe(400);
    } finally {
      await s.close();
    }
  });

  it("stream: an ended stream leaves no request in flight, and its duration is not taken for a response time", async () => {
    expect((await request(`${e.url}/api/v1/console/summary`, { headers: auth })).status).toBe(200);
    const s = await openStream(e.url);
    await until(() => s.events.length >= 3, 'a few updates');
    await s.close();
    await untilValue(
      async () => (await request(`${e.url}/api/v1/health`)).body.performance.in_flight,
      (n) => n === 1, // this health request itself
      'the stream no longer in flight',
    );
    const prom = await fetch(`${e.url}/metrics`, { headers: auth });
    const text = await prom.text();
    expect(text).toContain('openkore_http_request_duration_seconds_count{method="GET",route="/api/v1/console/summary"');
    // Refusals of the route (401, 409) are ordinary requests; a stream that ran (200, or 499 once
    // its client left) has no observation.
    const streamStatuses = [...text.matchAll(/route="\/api\/v1\/console\/stream",status="(\d+)"/g)].map((m) => m[1]);
    expect(streamStatuses.filter((st) => st !== '401' && st !== '409')).toEqual([]);
  });

  it('stream: bounded by CONSOLE_MAX_STREAMS (409 BUSY, the page polls); a closed one frees its slot', async () => {
    const first = await openStream(e.url);
    const second = await openStream(e.url);
    try {
      expect([first.res.status, second.res.status]).toEqual([200, 200]);
      const third = await request(`${e.url}/api/v1/console/stream`, { headers: auth });
      expect(third.status).toBe(409);
      expect(third.body.error).toMatchObject({ code: 'BUSY', details: { reason: 'console_streams_full', max_streams: 2 } });
      await first.close();
      // The server learns of the closed connection asynchronously.
      await until(async () => {
        const again = await openStream(e.url);
        await again.close();
        return again.res.status === 200;
      }, 'a free slot');
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('console streams at shutdown', () => {
  it('are ended by the drain, which does not wait for them', async () => {
    // A drain that waited for the streams would take SHUTDOWN_TIMEOUT_MS: far beyond the test's bound.
    const e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, SHUTDOWN_TIMEOUT_MS: '600000', CONSOLE_INTERVAL_MS: '60000' });
    let s: Awaited<ReturnType<typeof openStream>> | undefined;
    try {
      s = await openStream(e.url);
      expect(s.res.status).toBe(200);
      await until(() => s!.events.length >= 1, 'hello');
      await e.stop();
      await s.reading;
      expect(s.ended).toBe(true);
    } finally {
      await s?.close();
      await e.stop();
    }
  });
});

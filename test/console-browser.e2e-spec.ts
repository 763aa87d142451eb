import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, HTTPResponse, Page } from 'puppeteer-core';
import { LockName } from '../src/common/concurrency';
import { until } from '../src/common/testing/wait.test-kit';
import { launchBrowser, screenshotPath, type LaunchedBrowser } from './support/browser';
import { freePort, request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

// Callbacks given to page.evaluate / waitForFunction run in the page, where these exist.
declare const document: any;
declare const sessionStorage: any;
declare const localStorage: any;

const TOKEN = 'browser-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const CHARACTERS = ['Knight', 'Priest', 'Hunter'];

/** Bots ticking every 100 ms until stopped: the console has sessions and decisions to show. */
function driveBots(url: string, sessions: Array<[string, string]>) {
  let running = true;
  let tick = 0;
  const loop = (async () => {
    while (running) {
      tick++;
      await Promise.all(
        sessions.map(([sid, name], i) =>
          request(`${url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ name, hp: 200 + ((tick * 37 + i * 300) % 800) }) }, headers: auth }),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '');
}

/** Clicks "Try it out" then "Execute" on one operation of Swagger UI; resolves with the engine's response. */
async function tryItOut(page: Page, method: string, path: string): Promise<HTTPResponse> {
  const block = `.opblock-${method}:has(.opblock-summary-path[data-path="${path}"])`;
  await page.click(`${block} .opblock-summary`);
  await page.waitForSelector(`${block} .try-out__btn`);
  await page.click(`${block} .try-out__btn`);
  await page.waitForSelector(`${block} .execute`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === method.toUpperCase()),
    page.click(`${block} .execute`),
  ]);
  await page.waitForSelector(`${block} .live-responses-table tbody .response-col_status`);
  return response;
}

describe('the operator pages in headless Chromium, with a token set', () => {
  let e: RunningEngine;
  let chromium: LaunchedBrowser;
  let stopBots: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // Macros to show: a file that loads and one that is refused (its errors, with line numbers).
    const macroDir = tempDir('okai-macros-');
    fs.writeFileSync(
      path.join(macroDir, 'potions.txt'),
      ['automacro lowHP {', '    CurrentHP < 45%', '    timeout 3', '    call drink', '}', '', 'macro drink {', '    do is White Potion', '    pause 0.5', '}', ''].join('\n'),
    );
    // The macro block is never closed: eventMacro refuses the whole file.
    fs.writeFileSync(
      path.join(macroDir, 'rest.txt'),
      ['automacro lowSP {', '    CurrentSP < 50%', '    call heal', '}', '', 'macro heal {', '    do is Red Potion', '    pause 1', ''].join('\n'),
    );
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, CONSOLE_INTERVAL_MS: '500', MACRO_DIR: macroDir, PDCA_EXECUTION_PERIOD_MS: '200', PDCA_INTERVAL_MS: '0' });
    chromium = await launchBrowser();
  });
  afterAll(async () => {
    try {
      await stopBots?.();
    } finally {
      try {
        await chromium?.close();
      } finally {
        await e?.stop();
      }
    }
  });

  async function newPage(context?: BrowserContext): Promise<Page> {
    const page = await (context ?? chromium.browser).newPage();
    // A wait that fails says which selector it was waiting for, well within the test's bound.
    page.setDefaultTimeout(20_000);
    await page.setViewport({ width: 1400, height: 900 });
    return page;
  }

  it('/docs renders the operations; after Authorize, Try it out answers 200 on health and on a protected route', async () => {
    const page = await newPage();
    try {
      const res = await page.goto(`${e.url}/docs`, { waitUntil: 'load' });
      expect(res!.status()).toBe(200);
      await page.waitForSelector('.opblock-summary-path[data-path="/api/v1/console/summary"]');
      expect((await page.$$('.opblock')).length).toBeGreaterThan(40);

      await page.click('.auth-wrapper .authorize');
      await page.waitForSelector('.modal-ux input');
      await page.type('.modal-ux input', TOKEN);
      await page.click('.modal-ux .auth-btn-wrapper .authorize');
      await page.waitForSelector('.modal-ux .auth-btn-wrapper .btn-done');
      await page.click('.modal-ux .auth-btn-wrapper .btn-done');

      const health = await tryItOut(page, 'get', '/api/v1/health');
      expect(health.status()).toBe(200);
      const sessions = await tryItOut(page, 'get', '/api/v1/sessions');
      expect(sessions.status()).toBe(200);
      expect(sessions.request().headers().authorization).toBe(`Bearer ${TOKEN}`);
      expect(await text(page, '.opblock-get:has(.opblock-summary-path[data-path="/api/v1/sessions"]) .live-responses-table tbody .response-col_status')).toContain('200');
      // Kept for the tab, not in the browser's long-lived storage.
      // (Object.keys reads the stores themselves, past the page's getItem redirection.)
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('authorized'), localKeys: Object.keys(localStorage) }));
      expect(stored.localKeys).not.toContain('authorized');
      expect(stored.session).toContain(TOKEN);
      // Tall enough to show the Authorize button (locked) and the protected call's 200.
      await page.setViewport({ width: 1400, height: 1500 });
      await page.screenshot({ path: screenshotPath('docs.png') });
      await page.setViewport({ width: 1400, height: 900 });
      // Opening /docs again in the same tab keeps the authorization (the deep-link hash is left
      // out: it would open the operation already).
      await page.goto(`${e.url}/docs`, { waitUntil: 'load' });
      await page.waitForSelector('.opblock-summary-path[data-path="/api/v1/sessions"]');
      const again = await tryItOut(page, 'get', '/api/v1/sessions');
      expect(again.status()).toBe(200);
      expect(again.request().headers().authorization).toBe(`Bearer ${TOKEN}`);
    } finally {
      await page.close();
    }
  });

  it('/console, after the token, shows the driven sessions, a decision chart with points and the hierarchy locks', async () => {
    const sessions: Array<[string, string]> = [];
    for (const name of CHARACTERS) {
      const res = await request(`${e.url}/api/v1/handshake`, { body: { client: 'browser-test', client_version: '1', character_name: name }, headers: auth });
      sessions.push([res.body.data.session_id as string, name]);
    }
    stopBots = driveBots(e.url, sessions);
    const page = await newPage();
    try {
      await page.goto(`${e.url}/console`, { waitUntil: 'load' });
      await page.waitForSelector('#login:not([hidden])');
      expect(await page.$eval('#main', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
      expect(await page.$eval('#login-error', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
      await page.type('#token-input', TOKEN);
      await page.click('#login-submit');
      await page.waitForSelector('#main:not([hidden])');
      await page.waitForSelector('#conn[data-state="live"]');

      await page.waitForFunction(
        (names: string[]) => {
          const shown = [...document.querySelectorAll('#bots-table tbody tr td:first-child')].map((td) => td.textContent);
          return names.every((n) => shown.includes(n));
        },
        {},
        CHARACTERS,
      );
      const row = await page.$eval(`#bots-table tbody tr[data-session="${sessions[0][0]}"]`, (tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
      expect(row[0]).toBe('Knight');
      expect(row[1]).toBe('prt_fild08');
      expect(Number(row[2])).toBeGreaterThan(0);
      expect(row[4]).toMatch(/^(reflex|rule|ml|llm)$/);

      // Sortable: a second click on a header reverses the order.
      await page.click('#bots-table th[data-key="character"]');
      await page.waitForSelector('#bots-table th[data-key="character"][data-sorted="desc"]');
      const order = await page.$$eval('#bots-table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
      expect(order.filter((n) => CHARACTERS.includes(n!))).toEqual([...CHARACTERS].sort().reverse());

      await page.waitForFunction(() => {
        const chart = document.getElementById('chart-rate')!;
        return Number(chart.dataset.points) >= 3 && Number(chart.dataset.maxRate) > 0 && chart.querySelector('canvas') !== null;
      });
      const lockRows = await page.$$eval('#locks-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-lock')));
      expect(lockRows).toEqual(expect.arrayContaining(Object.values(LockName)));
      await page.waitForSelector('#macro-failure:not([hidden]) #macro-failure-errors li');
      expect(await text(page, '#macro-failure-errors')).toMatch(/line \d+:/);
      await page.screenshot({ path: screenshotPath('console.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('/console says clearly when the token is wrong', async () => {
    const context = await chromium.browser.createBrowserContext();
    try {
      const page = await newPage(context);
      await page.goto(`${e.url}/console`, { waitUntil: 'load' });
      await page.waitForSelector('#login:not([hidden])');
      await page.type('#token-input', 'not-the-token-0123456789');
      await page.click('#login-submit');
      await page.waitForSelector('#login-error:not([hidden])');
      expect(await text(page, '#login-error')).toMatch(/refused this token \(401 INVALID_TOKEN\)/);
      expect(await page.$eval('#main', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
      expect(await page.evaluate(() => sessionStorage.getItem('openkore-console-token'))).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('/console triggers a PDCA cycle only once the operator confirms', async () => {
    const page = await newPage();
    try {
      await page.goto(`${e.url}/console`, { waitUntil: 'load' });
      // sessionStorage is per tab: a new tab asks again.
      await page.waitForSelector('#login:not([hidden])');
      await page.type('#token-input', TOKEN);
      await page.click('#login-submit');
      await page.waitForSelector('#conn[data-state="live"]');
      await page.waitForSelector('#pdca-trigger:not([disabled])');
      await page.click('#pdca-trigger');
      await page.waitForSelector('#confirm[open]');
      await page.click('#confirm-cancel');
      await page.waitForSelector('#confirm:not([open])');
      expect((await request(`${e.url}/api/v1/pdca`, { headers: auth })).body.data.cycle_count).toBe(0);
      expect((await request(`${e.url}/api/v1/pdca`, { headers: auth })).body.data.cycle_running).toBe(false);

      await page.click('#pdca-trigger');
      await page.waitForSelector('#confirm[open]');
      await page.click('#confirm-ok');
      await page.waitForFunction(() => /Cycle #\d+ started/.test(document.getElementById('pdca-result')!.textContent ?? ''));
      await until(async () => (await request(`${e.url}/api/v1/pdca`, { headers: auth })).body.data.cycle_count === 1, 'the cycle finished');
      await page.waitForSelector('#pdca-history tbody tr');
    } finally {
      await page.close();
    }
  });
});

describe('the console across an engine restart', () => {
  it('shows "disconnected" while the engine is down and goes live again on its own', async () => {
    const port = String(await freePort());
    const dataDir = tempDir();
    let e: RunningEngine | undefined = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, PORT: port, DATA_DIR: dataDir, CONSOLE_INTERVAL_MS: '500' });
    const chromium = await launchBrowser();
    try {
      const page = await chromium.browser.newPage();
      await page.goto(`${e.url}/console`, { waitUntil: 'load' });
      await page.type('#token-input', TOKEN);
      await page.click('#login-submit');
      await page.waitForSelector('#conn[data-state="live"]');

      await e.stop();
      e = undefined;
      await page.waitForSelector('#conn[data-state="disconnected"]');
      expect(await text(page, '#conn')).toContain('disconnected');

      e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, PORT: port, DATA_DIR: dataDir, CONSOLE_INTERVAL_MS: '500' });
      // The token was kept for the tab: no new prompt.
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 30_000 });
      expect(await page.$eval('#login', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
    } finally {
      await chromium.close();
      await e?.stop();
    }
  });
});

describe('the console of an engine without a token', () => {
  it('opens at once, without asking for one', async () => {
    const e = await startEngine({ CONSOLE_INTERVAL_MS: '500' });
    const chromium = await launchBrowser();
    try {
      const page = await chromium.browser.newPage();
      await page.goto(`${e.url}/console`, { waitUntil: 'load' });
      await page.waitForSelector('#conn[data-state="live"]');
      expect(await page.$eval('#login', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
      expect(await page.$eval('#forget-token', (m) => (m as unknown as { hidden: boolean }).hidden)).toBe(true);
      expect(await page.$$eval('#locks-table tbody tr', (trs) => trs.length)).toBeGreaterThanOrEqual(Object.values(LockName).length);
    } finally {
      await chromium.close();
      await e.stop();
    }
  });
});

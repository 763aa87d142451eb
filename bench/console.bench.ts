/**
 * `npm run bench -- console`: what open operator consoles cost the engine at idle. The built
 * engine runs as its own process (pinned to core 0 where possible), with the default
 * CONSOLE_INTERVAL_MS; headless Chromium (Debian's, driven by puppeteer-core) opens the consoles.
 * The engine's CPU time (all threads, from /proc) is read over a window of
 * BENCH_CONSOLE_SECONDS (default 60): with no console, with 5 consoles on event streams, and with
 * 5 consoles polling (CONSOLE_MAX_STREAMS=0). No bot sends anything: the engine is idle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { cpuSeconds, pinForLoad, startEngine, stopProcess, type Server } from './support';

// The callback given to evaluateOnNewDocument runs in the page, where this exists.
declare const sessionStorage: { setItem(key: string, value: string): void };

const TOKEN = 'bench-console-token-0123456789';
const CONSOLES = 5;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Row {
  scenario: string;
  seconds: number;
  cpuSeconds: number;
  live: string;
}

async function launch(profile: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `n` console tabs with the token already in their session storage; resolves once each is live (or polling). */
async function openConsoles(browser: Browser, url: string, n: number, state: 'live' | 'polling'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument((token: string) => sessionStorage.setItem('openkore-console-token', token), TOKEN);
    await page.goto(`${url}/console`, { waitUntil: 'load' });
    await page.waitForSelector(`#conn[data-state="${state}"]`, { timeout: 30_000 });
  }
}

async function liveCount(browser: Browser, state: string): Promise<number> {
  let n = 0;
  for (const page of await browser.pages()) {
    if ((await page.$(`#conn[data-state="${state}"]`)) !== null) n++;
  }
  return n;
}

async function measure(server: Server, seconds: number): Promise<number> {
  const before = cpuSeconds(server.proc.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = cpuSeconds(server.proc.pid);
  return before === undefined || after === undefined ? Number.NaN : after - before;
}

async function withEngine<T>(env: Record<string, string>, cpus: string | undefined, fn: (server: Server) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-console-'));
  try {
    const server = await startEngine({ OPENKORE_AI_TOKEN: TOKEN, DATA_DIR: dir, MACRO_DIR: path.join(dir, 'macros'), ...env }, cpus);
    try {
      return await fn(server);
    } finally {
      await stopProcess(server.proc);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium, or set CHROMIUM_PATH`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-chromium-'));
  try {
    const browser = await launch(profile);
    try {
      return await fn(browser);
    } finally {
      await browser.close().catch(() => undefined);
      browser.process()?.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

export async function runConsoleBench(): Promise<void> {
  const seconds = Number(process.env.BENCH_CONSOLE_SECONDS ?? 60);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('BENCH_CONSOLE_SECONDS must be a positive number');
  const placement = pinForLoad();
  const rows: Row[] = [];
  // Lets the engine finish booting (model load, first checkpoint) before anything is measured.
  const settle = () => new Promise((r) => setTimeout(r, 5_000));

  await withEngine({}, placement.serverCpus, async (server) => {
    await settle();
    rows.push({ scenario: 'idle, no console', seconds, cpuSeconds: await measure(server, seconds), live: '—' });
    await withBrowser(async (browser) => {
      await openConsoles(browser, server.url, CONSOLES, 'live');
      await settle();
      const cpu = await measure(server, seconds);
      rows.push({ scenario: `idle, ${CONSOLES} consoles (event streams)`, seconds, cpuSeconds: cpu, live: `${await liveCount(browser, 'live')}/${CONSOLES}` });
    });
  });
  await withEngine({ CONSOLE_MAX_STREAMS: '0' }, placement.serverCpus, async (server) => {
    await withBrowser(async (browser) => {
      await openConsoles(browser, server.url, CONSOLES, 'polling');
      await settle();
      const cpu = await measure(server, seconds);
      rows.push({ scenario: `idle, ${CONSOLES} consoles (polling)`, seconds, cpuSeconds: cpu, live: `${await liveCount(browser, 'polling')}/${CONSOLES}` });
    });
  });

  const base = rows[0].cpuSeconds / rows[0].seconds;
  console.log(`placement: ${placement.describe}; CONSOLE_INTERVAL_MS default (2000); window ${seconds} s per scenario`);
  console.log('| scenario | engine CPU s | % of a core | above idle | consoles live |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const share = r.cpuSeconds / r.seconds;
    const above = r === rows[0] ? '' : `${((share - base) * 100).toFixed(2)} %`;
    console.log(`| ${r.scenario} | ${r.cpuSeconds.toFixed(2)} | ${(share * 100).toFixed(2)} % | ${above} | ${r.live} |`);
  }
}

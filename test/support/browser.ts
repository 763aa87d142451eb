import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { ROOT } from './engine';

/** Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it); puppeteer downloads nothing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests write what they saw (gitignored); the README's images are copied from here by hand. */
export const TEST_OUTPUT = path.join(ROOT, 'test-output', 'browser');

export interface LaunchedBrowser {
  browser: Browser;
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile and nothing that reaches beyond the machine. */
export async function launchBrowser(): Promise<LaunchedBrowser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true, // --headless=new
      userDataDir: profile,
      timeout: 30_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    browser,
    close: () =>
      (closed ??= (async () => {
        try {
          await browser.close();
        } finally {
          // The process may ignore close() if it hung: make sure it is gone.
          browser.process()?.kill('SIGKILL');
          fs.rmSync(profile, { recursive: true, force: true });
        }
      })()),
  };
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(TEST_OUTPUT, { recursive: true });
  return path.join(TEST_OUTPUT, name);
}

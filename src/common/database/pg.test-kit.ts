import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/**
 * PostgreSQL for the test suites. `TEST_DATABASE_URL` (a server where the user may CREATE
 * DATABASE) is used when set; otherwise a throwaway cluster is started with
 * scripts/pg-throwaway.sh when a PostgreSQL server is installed. Each suite gets databases of
 * its own. Without either, the PostgreSQL suites are skipped with the reason printed — except
 * when `CI` or `REQUIRE_POSTGRES` is set: then a missing server fails the suite.
 */
const SCRIPT = path.resolve(__dirname, '../../../../scripts/pg-throwaway.sh');
const SCRIPT_SRC = path.resolve(__dirname, '../../../scripts/pg-throwaway.sh');

function script(): string {
  return fs.existsSync(SCRIPT_SRC) ? SCRIPT_SRC : SCRIPT;
}

function serverInstalled(): boolean {
  if (process.env.PG_BINDIR) return fs.existsSync(path.join(process.env.PG_BINDIR, 'initdb'));
  try {
    return fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(path.join('/usr/lib/postgresql', v, 'bin', 'initdb')));
  } catch {
    return false;
  }
}

/** Why the PostgreSQL suites cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (process.env.TEST_DATABASE_URL) return null;
  if (serverInstalled()) return null;
  const reason = 'no PostgreSQL: set TEST_DATABASE_URL or install a PostgreSQL server (Debian: postgresql)';
  if (process.env.CI || process.env.REQUIRE_POSTGRES) throw new Error(`PostgreSQL suites must run here, but ${reason}`);
  return reason;
}

type Describe = ((name: string, fn: () => void) => void) & { skip: (name: string, fn: () => void) => void };

/** `describe` when PostgreSQL is available, else `describe.skip` with the reason on stderr. */
export function describePostgres(name: string, fn: () => void): void {
  // Jest's global, typed here: this kit is also compiled into dist/, without the test typings.
  const describe = (globalThis as unknown as { describe: Describe }).describe;
  const reason = postgresUnavailable();
  if (reason) {
    process.stderr.write(`skipped "${name}": ${reason}\n`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}

export interface PgTestServer {
  /** A new empty database on the server; its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Drops the databases made and stops a throwaway cluster. */
  stop(): Promise<void>;
}

let seq = 0;

/** `adminUrl`: a server to use (default `TEST_DATABASE_URL`); none: a throwaway cluster. */
export async function startPostgres(options: { adminUrl?: string } = {}): Promise<PgTestServer> {
  let adminUrl = options.adminUrl ?? process.env.TEST_DATABASE_URL;
  let dir: string | undefined;
  if (!adminUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-pg-'));
    try {
      adminUrl = execFileSync('bash', [script(), 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      stopCluster(dir);
      throw err;
    }
  }
  const made: string[] = [];
  const admin = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    async createDatabase(prefix = 'okai') {
      seq += 1;
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      made.push(name);
      const url = new URL(adminUrl!);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      try {
        if (!dir) {
          // A shared server: leave it as it was.
          await admin(async (c) => {
            for (const name of made) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          });
        }
      } finally {
        if (dir) stopCluster(dir);
      }
    },
  };
}

function stopCluster(dir: string): void {
  try {
    execFileSync('bash', [script(), 'stop', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

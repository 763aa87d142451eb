import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { type CatalogLock, InjectLock, LockName, WithLock } from '../../common/concurrency';
import { AppError } from '../../common/errors/app.error';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { HealthService } from '../health';
import { EMPTY_TABLES, TABLE_FILES, type TableName, type Tables, TablesValidationError, validateTables } from './tables';

export class TablesRejectedError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
}

const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The data tables, published as an immutable snapshot that readers take without a lock. A
 * reload reads and validates every file and swaps them together under CONFIG (so two reloads
 * cannot publish out of order); a refused set leaves the running one in place.
 */
@Injectable()
export class TablesService implements OnModuleInit {
  private readonly logger = new Logger(TablesService.name);
  private snapshot: Tables = EMPTY_TABLES;
  private lastError: string | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLock(LockName.CONFIG) private readonly configLock: CatalogLock<typeof LockName.CONFIG>,
    health: HealthService,
  ) {
    health.registerComponent('tables', () =>
      this.lastError !== undefined
        ? { status: 'degraded', detail: this.snapshot.version === 0 ? `not loaded: ${this.lastError}` : `last reload refused: ${this.lastError}` }
        : { status: 'healthy', detail: `version ${this.snapshot.version} from ${this.snapshot.dir}` },
    );
  }

  async onModuleInit(): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      // The engine still serves: the routes that need a table answer with nothing to do.
      this.logger.error({ err, dir: this.config.tablesDir }, 'data tables refused at boot; running without them');
    }
  }

  get current(): Tables {
    return this.snapshot;
  }

  /** Reads, validates and publishes every table, wholly under CONFIG. */
  @WithLock(LockName.CONFIG)
  async reload(): Promise<Tables> {
    try {
      const dir = this.config.tablesDir;
      const docs = {} as Record<TableName, unknown>;
      for (const [name, file] of Object.entries(TABLE_FILES) as [TableName, string][]) {
        docs[name] = await readJson(path.join(dir, file));
      }
      let tables: Tables;
      try {
        tables = validateTables(docs, { version: this.snapshot.version + 1, dir });
      } catch (err) {
        if (err instanceof TablesValidationError) throw new TablesRejectedError(err.message, { problems: err.problems });
        throw err;
      }
      this.snapshot = tables;
      this.lastError = undefined;
      this.logger.log({ version: tables.version, dir, plans: tables.skillPlans.size, builds: tables.statBuilds.size, junk: tables.junk.size }, 'data tables loaded');
      return tables;
    } catch (err) {
      this.lastError = (err as Error).message;
      throw err;
    }
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) throw new TablesRejectedError(`${file} is larger than 1 MiB`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof TablesRejectedError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new TablesRejectedError(`${file} cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TablesRejectedError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

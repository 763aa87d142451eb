import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import * as fs from 'node:fs/promises';
import { type CatalogLock, InjectLock, LockName, WithLock } from '../../common/concurrency';
import { AppError, InvalidRequestError } from '../../common/errors/app.error';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DEFAULT_RULES, type RuleSet, RuleValidationError, validateRules } from './tiers/rules';

export class RulesRejectedError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
}

/**
 * The rule tier's rules, published as an immutable snapshot: the decision path reads the
 * current one without a lock; a reload — read, validate, swap — runs wholly under CONFIG, so
 * two reloads never cross (the later one never publishes the file as it was before the earlier).
 */
@Injectable()
export class RuleSetService implements OnModuleInit {
  private readonly logger = new Logger(RuleSetService.name);
  private current: RuleSet = Object.freeze({ version: 0, source: 'built-in defaults', loadedAt: new Date().toISOString(), rules: Object.freeze([...DEFAULT_RULES]) });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectLock(LockName.CONFIG) private readonly configLock: CatalogLock<typeof LockName.CONFIG>,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      // A bad rules file at boot: keep the defaults and say so, rather than not starting.
      this.logger.error({ err, file: this.config.rulesFile }, 'rules file rejected at boot; running the built-in rules');
    }
  }

  get rules(): RuleSet {
    return this.current;
  }

  /** Re-reads RULES_FILE; an invalid file is refused and the running rules stay. */
  @WithLock(LockName.CONFIG)
  async reload(): Promise<RuleSet> {
    const file = this.config.rulesFile;
    let text: string | undefined;
    try {
      const stat = await fs.stat(file);
      if (stat.size > 1024 * 1024) throw new RulesRejectedError(`${file} is larger than 1 MiB`);
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let rules = DEFAULT_RULES;
    let source = 'built-in defaults';
    if (text !== undefined) {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new RulesRejectedError(`${file} is not valid JSON: ${(err as Error).message}`);
      }
      try {
        rules = validateRules(doc);
      } catch (err) {
        if (err instanceof RuleValidationError) throw new RulesRejectedError(err.message, { problems: err.problems });
        throw err;
      }
      source = file;
    }
    this.current = Object.freeze({
      version: this.current.version + 1,
      source,
      loadedAt: new Date().toISOString(),
      rules: Object.freeze(rules.map((r) => Object.freeze(r))),
    });
    this.logger.log({ version: this.current.version, source, rules: rules.length }, 'rules loaded');
    return this.current;
  }

  static assertType(type: string): void {
    if (type !== 'rules') throw new InvalidRequestError(`Unknown configuration type "${type}"; known: rules, tables`);
  }
}

import {
  AppError,
  BusyError,
  InvalidRequestError,
  NotFoundError,
  ServiceUnavailableError,
  VersionConflictError,
} from '../../common/errors/app.error';
import type { Diagnostic } from './language/ast';

/** A name or path that is malformed or would leave MACRO_DIR: 400, nothing is read or written. */
export class MacroPathError extends InvalidRequestError {}

export class MacroFileTooLargeError extends InvalidRequestError {
  constructor(size: number, max: number) {
    super(`Macro file is ${size} bytes; the limit is ${max}`, { size, max });
  }
}

/** Content that does not validate: 400 with the diagnostics (line numbers). Nothing changes. */
export class MacroValidationError extends InvalidRequestError {
  constructor(
    message: string,
    readonly errors: Diagnostic[],
    readonly warnings: Diagnostic[] = [],
    extra: Record<string, unknown> = {},
  ) {
    super(message, { errors, warnings, ...extra });
  }
}

export class MacroNotFoundError extends NotFoundError {
  constructor(name: string, kind: 'macro' | 'automacro' = 'macro') {
    super(`No ${kind} named "${name}"`, { [`${kind}_name`]: name });
  }
}

/** The macro's file was deleted: it finishes the executions already running, takes no new one. */
export class MacroRetiredError extends NotFoundError {
  constructor(name: string) {
    super(`Macro "${name}" is being retired (its file was deleted)`, { macro_name: name });
  }
}

export class ExecutionNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`No macro execution "${id}" (unknown, or finished too long ago)`, { execution_id: id });
  }
}

/** eventMacro runs one macro at a time per bot; so does the engine. */
export class SessionBusyError extends BusyError {
  constructor(sessionId: string, executionId: string, macro: string) {
    super(`Session ${sessionId} is already running macro "${macro}"`, { session_id: sessionId, execution_id: executionId, macro_name: macro });
  }
}

export class TooManyExecutionsError extends BusyError {
  constructor(limit: number) {
    super(`${limit} macro executions are already running`, { limit });
  }
}

/** The file changed again (another writer) before the registry loaded this edit. */
export class MacroEditConflictError extends VersionConflictError {}

/** The reload did not complete in time, or reading the file failed. */
export class MacroReloadUnavailableError extends ServiceUnavailableError {}

/** POST /macro/reload of a file whose content on disk does not validate: 422; the running version stays. */
export class MacroFileInvalidError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
}

import { VersionConflictError } from '../../common/errors/app.error';
import type { MergeConflict } from './state-merger';

export class StaleVersionError extends VersionConflictError {
  constructor(sessionId: string, expected: number, actual: number) {
    super(`State of session ${sessionId} is at version ${actual}, not ${expected}`, {
      session_id: sessionId,
      expected_version: expected,
      current_version: actual,
    });
  }
}

export class MergeConflictError extends VersionConflictError {
  constructor(sessionId: string, version: number, conflicts: MergeConflict[]) {
    super(`Update conflicts with ${conflicts.length} field(s) of the current state (MANUAL_RESOLVE)`, {
      session_id: sessionId,
      current_version: version,
      conflicts,
    });
  }
}

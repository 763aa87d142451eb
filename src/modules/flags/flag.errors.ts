import { AppError } from '../../common/errors/app.error';

/** A name used as a flag is a counter in the table, or the other way round. */
export class FlagKindMismatchError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
  constructor(name: string, expected: 'flag' | 'counter') {
    super(`process_flags row "${name}" is not a ${expected}`, { name, expected });
  }
}

import {
  AppError,
  BusyError,
  InvalidRequestError,
  NotFoundError,
  ServiceUnavailableError,
  VersionConflictError,
} from '../../common/errors/app.error';

/** A model file that does not meet the model contract (or no model at all): 422, nothing changes. */
export class ModelValidationError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
}

/** `model_path` is absolute, escapes MODEL_DIR (`..`, a symlink) or is otherwise unusable: 400. */
export class ModelPathError extends InvalidRequestError {}

export class ModelFileNotFoundError extends NotFoundError {
  constructor(modelPath: string) {
    super(`No model file at "${modelPath}" in MODEL_DIR`, { model_path: modelPath });
  }
}

export class NoStagedModelError extends NotFoundError {
  constructor() {
    super('No model is staged; stage one with POST /api/v1/ml/model/stage first');
  }
}

/** The caller promotes a staging it named, but another model has been staged since. */
export class StagingConflictError extends VersionConflictError {
  constructor(expected: number, actual: number | null) {
    super(`Staging ${expected} is no longer staged (now: ${actual ?? 'none'})`, { expected_staging_id: expected, staging_id: actual });
  }
}

export class PromotionInProgressError extends BusyError {
  constructor() {
    super('A promotion is already in progress');
  }
}

/** The ML tier has no active model (e.g. the model was corrupt at boot). */
export class ModelUnavailableError extends ServiceUnavailableError {
  constructor(detail?: string) {
    super(`No active ML model${detail ? `: ${detail}` : ''}`);
  }
}

export class TrainingBusyError extends BusyError {
  constructor(details?: unknown) {
    super('Training is already in progress (flag training_in_progress is held)', details);
  }
}

export class NotEnoughTrainingDataError extends AppError {
  readonly code = 'UNPROCESSABLE';
  readonly status = 422;
  constructor(have: number, need: number) {
    super(`Not enough usable training samples: ${have}, need at least ${need}`, { samples: have, min_samples: need });
  }
}

export class TrainingFailedError extends AppError {
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}

/** The trainer cannot run here (e.g. the worker script is not built) or ran out of time. */
export class TrainerUnavailableError extends ServiceUnavailableError {}

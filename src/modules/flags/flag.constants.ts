/** The cross-process flags of docs/architecture.md §4.2. Other names are allowed (see FLAG_NAME_PATTERN). */
export const ProcessFlag = {
  PDCA_RUNNING: 'pdca_running',
  TRAINING_IN_PROGRESS: 'training_in_progress',
  MODEL_UPDATING: 'model_updating',
  EMERGENCY_STOP: 'emergency_stop',
} as const;
export type ProcessFlag = (typeof ProcessFlag)[keyof typeof ProcessFlag];

/** The version counters of docs/architecture.md §4.2. */
export const VersionCounter = {
  STATE_VERSION: 'state_version',
  MODEL_VERSION: 'model_version',
} as const;
export type VersionCounter = (typeof VersionCounter)[keyof typeof VersionCounter];

export const FLAG_NAME_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Lease bounds: long enough to be renewed, short enough that a dead holder is noticed. */
export const MIN_LEASE_TTL_MS = 10;
export const MAX_LEASE_TTL_MS = 24 * 3_600_000;

export function assertFlagName(name: string): void {
  if (typeof name !== 'string' || !FLAG_NAME_PATTERN.test(name)) {
    throw new TypeError(`Invalid flag or counter name "${String(name)}" (expected ${FLAG_NAME_PATTERN})`);
  }
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS || ttlMs > MAX_LEASE_TTL_MS) {
    throw new TypeError(`Lease TTL must be an integer between ${MIN_LEASE_TTL_MS} and ${MAX_LEASE_TTL_MS} ms, got ${ttlMs}`);
  }
}

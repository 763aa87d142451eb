import type { AppConfig } from '../../config/app-config';
import { DECAY_BELOW, MAX_CONSOLIDATION_CHANGES, PRUNE_BELOW } from './memory.constants';

/** The memory module's settings (from AppConfig; unit specs and the bench build them directly). */
export interface MemoryOptions {
  /** Most memories one session may hold (each costs ~2 KiB of RAM while its session is active). */
  maxPerSession: number;
  /** Bound on the canonical JSON of one event or game state. */
  maxEventBytes: number;
  /** Background consolidation period of sessions with new memories; 0 = only on request. */
  consolidateIntervalMs: number;
  /** Period of the batched access-count writes. */
  accessFlushMs: number;
  mergeSimilarity: number;
  decayHalfLifeMs: number;
  decayBelow: number;
  pruneBelow: number;
  /** Most rows one consolidation deletes or rewrites (see ConsolidationPolicy.maxChanges). */
  maxChangesPerConsolidation: number;
  /** Wall clock (epoch ms); tests inject their own. */
  now?: () => number;
  /** Use the WebAssembly SIMD coarse scan where available (default true). */
  simd?: boolean;
}

export const MEMORY_OPTIONS = Symbol('MEMORY_OPTIONS');

export function memoryOptionsFrom(config: AppConfig): MemoryOptions {
  return {
    maxPerSession: config.memoryMaxPerSession,
    maxEventBytes: config.memoryMaxEventBytes,
    consolidateIntervalMs: config.memoryConsolidateIntervalMs,
    accessFlushMs: config.memoryAccessFlushMs,
    mergeSimilarity: config.memoryMergeSimilarity,
    decayHalfLifeMs: config.memoryDecayHalfLifeMs,
    decayBelow: DECAY_BELOW,
    pruneBelow: PRUNE_BELOW,
    maxChangesPerConsolidation: MAX_CONSOLIDATION_CHANGES,
  };
}

/** Kinds of memory (the OpenMemory sectors); near-duplicates only merge within one kind. */
export const MEMORY_TYPES = ['episodic', 'semantic', 'procedural', 'emotional', 'reflective'] as const;
export type MemoryType = (typeof MEMORY_TYPES)[number];
export const DEFAULT_MEMORY_TYPE: MemoryType = 'episodic';

export const MAX_TOP_K = 100;
export const DEFAULT_TOP_K = 5;
/** Memories per batch store request (the 1 MiB body bound usually comes first). */
export const MAX_BATCH = 1000;

/** Only memories less important than this decay; above it they are kept as they are. */
export const DECAY_BELOW = 0.5;
/** A decayed memory below this importance is deleted by consolidation. */
export const PRUNE_BELOW = 0.05;
/**
 * Most rows one consolidation deletes or rewrites: bounds its transaction, which runs on the event
 * loop (~0.2 s here at this size); the rest is left for the next consolidation.
 */
export const MAX_CONSOLIDATION_CHANGES = 5_000;
/** When full, consolidation prunes the least valuable memories down to this share of the maximum. */
export const PRUNE_TARGET_SHARE = 0.9;

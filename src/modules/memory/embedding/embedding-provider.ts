/** A JSON value as the API receives it (events and game states are JSON objects). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a provider embeds: the structured value (for structure-aware providers such as feature
 * hashing), its canonical JSON (sorted keys; the cache key is its digest) and a plain-text
 * rendering (for text encoders).
 */
export interface EmbeddingInput {
  readonly value: JsonValue;
  readonly canonical: string;
  /** `key: value` lines in canonical order, e.g. "type: monster_kill\nlocation.map: prt_fild08". */
  readonly text: string;
}

/**
 * Turns inputs into vectors. Implementations: `HashingEmbeddingProvider` (deterministic feature
 * hashing, the default) — an ONNX text encoder from MODEL_DIR plugs in here, selected by
 * MEMORY_EMBEDDING_PROVIDER (see EMBEDDING_PROVIDER_FACTORIES).
 *
 * Contract: `embed` resolves with one vector of `dimensions` finite numbers per input, in input
 * order; it may be asynchronous (worker thread, native inference) and is called with at most
 * `maxBatch` inputs. The generator L2-normalizes whatever comes back.
 */
export interface EmbeddingProvider {
  /** Stable identity of the vector space, stored with every memory (e.g. "hashing-v1"): vectors of different spaces are never compared. */
  readonly name: string;
  readonly dimensions: number;
  readonly maxBatch: number;
  embed(inputs: readonly EmbeddingInput[]): Promise<Float32Array[]>;
  /** Releases native resources at shutdown. */
  close?(): Promise<void>;
}

/** Nest token of the configured provider. */
export const EMBEDDING_PROVIDER = Symbol('EMBEDDING_PROVIDER');

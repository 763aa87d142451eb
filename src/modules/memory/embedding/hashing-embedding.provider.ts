import type { EmbeddingInput, EmbeddingProvider, JsonValue } from './embedding-provider';

// Module-scope aliases: a global lookup per loop iteration is costly in sandboxed contexts (jest's vm).
const { imul, sqrt, round, log2, abs, min } = Math;

export const HASHING_PROVIDER_NAME = 'hashing-v1';
export const HASHING_DIMENSIONS = 384;

/** How much a field counts, by its (lower-case) key; weights multiply down nested objects. */
const FIELD_WEIGHTS = new Map<string, number>(
  Object.entries({
    type: 3,
    event_type: 3,
    event: 3,
    kind: 3,
    category: 3,
    action: 3,
    outcome: 2,
    result: 2,
    status: 2,
    success: 2,
    location: 2,
    map: 2,
    area: 2,
    zone: 2,
    place: 2,
    actors: 1.5,
    actor: 1.5,
    target: 1.5,
    targets: 1.5,
    monster: 1.5,
    monsters: 1.5,
    player: 1.5,
    players: 1.5,
    npc: 1.5,
    enemy: 1.5,
    enemies: 1.5,
    item: 1.5,
    items: 1.5,
    skill: 1.5,
    name: 1.5,
    x: 0.5,
    y: 0.5,
    // Identifiers and clocks say nothing about what happened: two events that differ only in
    // them embed identically (and consolidation may merge them).
    id: 0,
    request_id: 0,
    session_id: 0,
    memory_id: 0,
    timestamp: 0,
    timestamp_ms: 0,
    time: 0,
    ts: 0,
    created_at: 0,
    updated_at: 0,
  }),
);
const MAX_WEIGHT = 6;
const MAX_DEPTH = 8;
const MAX_ARRAY_ITEMS = 64;
const MAX_STRING_CHARS = 256;
const MAX_TOKENS = 48;
const MAX_FEATURES = 4096;
const WORD_WEIGHT = 0.8;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Deterministic embedding by feature hashing (the "hashing trick"): every leaf of the event
 * becomes a few string features — `path=value` for strings and booleans, `path#bucket` at two
 * resolutions of log-scaled numbers (so near values share a feature), and `~word` for each word of
 * any string (shared across fields, so "Poring" in `actors` meets "poring" in `situation`) —
 * each hashed to one of `dimensions` signed coordinates (FNV-1a + murmur3 finalizer, the sign
 * from an independent bit so collisions cancel instead of piling up). The sum is L2-normalized.
 *
 * Same value (whatever its key order) → same vector, bit for bit; no model, no state, ~10-30 µs
 * an event. Semantics are lexical: synonyms do not meet — that is what an ONNX text encoder
 * behind the same interface would add.
 */
export class HashingEmbeddingProvider implements EmbeddingProvider {
  readonly name: string;
  readonly maxBatch = 256;

  constructor(readonly dimensions: number = HASHING_DIMENSIONS) {
    if (!Number.isInteger(dimensions) || dimensions < 8) throw new RangeError(`dimensions must be an integer ≥ 8, got ${dimensions}`);
    this.name = dimensions === HASHING_DIMENSIONS ? HASHING_PROVIDER_NAME : `${HASHING_PROVIDER_NAME}-${dimensions}`;
  }

  embed(inputs: readonly EmbeddingInput[]): Promise<Float32Array[]> {
    return Promise.resolve(inputs.map((input) => this.embedValue(input.value)));
  }

  embedValue(value: JsonValue): Float32Array {
    const acc = new Float64Array(this.dimensions);
    const state = { features: 0 };
    const add = (feature: string, weight: number): void => {
      if (weight === 0 || state.features >= MAX_FEATURES) return;
      state.features++;
      const h = fnv1a(feature);
      const slot = mix(h) % this.dimensions;
      acc[slot] += (mix(h ^ 0x5bd1e995) & 1) === 0 ? weight : -weight;
    };
    walk(value, '', 1, 0, add);
    let norm = 0;
    for (let i = 0; i < acc.length; i++) norm += acc[i] * acc[i];
    const out = new Float32Array(this.dimensions);
    if (norm === 0) {
      // Nothing to go by (e.g. `{}` or only identifiers): one fixed feature keeps it a unit vector.
      out[mix(fnv1a('\u2205')) % this.dimensions] = 1;
      return out;
    }
    const inv = 1 / sqrt(norm);
    for (let i = 0; i < acc.length; i++) out[i] = acc[i] * inv;
    return out;
  }
}

type AddFeature = (feature: string, weight: number) => void;

function walk(value: JsonValue, path: string, weight: number, depth: number, add: AddFeature): void {
  if (weight === 0 || depth > MAX_DEPTH || value === null) return;
  switch (typeof value) {
    case 'string':
      addString(value, path, weight, add);
      return;
    case 'number':
      addNumber(value, path, weight, add);
      return;
    case 'boolean':
      add(`${path}=${value}`, weight);
      return;
    case 'object':
      break;
    default:
      return;
  }
  if (Array.isArray(value)) {
    const n = min(value.length, MAX_ARRAY_ITEMS);
    for (let i = 0; i < n; i++) walk(value[i], `${path}[]`, weight, depth + 1, add);
    return;
  }
  for (const key of Object.keys(value).sort()) {
    const lower = key.toLowerCase();
    // A Map, not an object: keys such as "__proto__" or "constructor" are plain keys here.
    const own = FIELD_WEIGHTS.get(lower) ?? 1;
    walk(value[key], path ? `${path}.${lower}` : lower, min(MAX_WEIGHT, weight * own), depth + 1, add);
  }
}

function addString(raw: string, path: string, weight: number, add: AddFeature): void {
  const text = raw.slice(0, MAX_STRING_CHARS).trim().toLowerCase().replace(/\s+/g, ' ');
  if (text === '') return;
  add(`${path}=${text}`, weight);
  const words = text.match(WORD);
  if (!words) return;
  const n = min(words.length, MAX_TOKENS);
  const each = (weight * WORD_WEIGHT) / sqrt(n);
  for (let i = 0; i < n; i++) add(`~${words[i]}`, each);
}

function addNumber(x: number, path: string, weight: number, add: AddFeature): void {
  if (!Number.isFinite(x)) return;
  add(`${path}#${bucket(x, 1)}`, weight);
  add(`${path}##${bucket(x, 4)}`, weight * 0.5);
}

/** Log-scaled bucket: 148 and 152 share one, 150 and 300 do not; `resolution` buckets per doubling. */
function bucket(x: number, resolution: number): string {
  if (x === 0) return '0';
  const b = round(log2(1 + abs(x)) * resolution);
  return x < 0 ? `-${b}` : String(b);
}

/** FNV-1a over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: spreads FNV's weak low bits over the word. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

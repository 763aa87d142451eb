import type { EmbeddingInput, JsonValue } from './embedding-provider';

/**
 * JSON with object keys sorted at every level, so that two equal values written with their keys
 * in a different order have one text (one cache entry, one embedding). Non-finite numbers cannot
 * arrive through JSON; they are written as null like JSON.stringify does.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

/** `path: value` lines of the leaves in canonical order (arrays as `path[]`), for text encoders. */
export function renderText(value: JsonValue, maxLines = 256): string {
  const lines: string[] = [];
  const walk = (v: JsonValue, path: string): void => {
    if (lines.length >= maxLines) return;
    if (v === null || typeof v !== 'object') {
      lines.push(path ? `${path}: ${String(v)}` : String(v));
      return;
    }
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${path}[]`);
      return;
    }
    for (const key of Object.keys(v).sort()) walk(v[key], path ? `${path}.${key}` : key);
  };
  walk(value, '');
  return lines.join('\n');
}

export function embeddingInput(value: JsonValue): EmbeddingInput {
  return { value, canonical: canonicalJson(value), text: renderText(value) };
}

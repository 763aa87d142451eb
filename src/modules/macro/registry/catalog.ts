import { createHash } from 'node:crypto';
import type { Block, MacroDocument } from '../language/ast';
import type { BlockKind } from '../macro-version.store';
import { versionKey } from '../macro-version.store';

/** One accepted version of a macro or automacro. Immutable once published. */
export interface MacroEntry {
  readonly kind: BlockKind;
  readonly name: string;
  readonly version: number;
  /** sha256 of `content`. */
  readonly hash: string;
  /** The block's source, header to closing brace. */
  readonly content: string;
  readonly block: Block;
  /** Source file, relative to MACRO_DIR. */
  readonly file: string;
  readonly line: number;
  readonly loadedAt: number;
  /** Its file was deleted: it serves the executions still running, takes no new one. */
  readonly retiring: boolean;
}

/**
 * Everything loaded, published whole: a reload builds the next catalog and swaps it in with one
 * assignment while it holds the write locks of the macros it changes, so a reader sees the
 * catalog before or after a reload, never half of one.
 */
export interface Catalog {
  readonly macros: ReadonlyMap<string, MacroEntry>;
  readonly automacros: ReadonlyMap<string, MacroEntry>;
  readonly generation: number;
}

export const EMPTY_CATALOG: Catalog = Object.freeze({ macros: new Map(), automacros: new Map(), generation: 0 });

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function mapOf(cat: Catalog, kind: BlockKind): ReadonlyMap<string, MacroEntry> {
  return kind === 'macro' ? cat.macros : cat.automacros;
}

const lowerIndexes = new WeakMap<ReadonlyMap<string, MacroEntry>, Map<string, MacroEntry>>();

/**
 * The entry eventMacro would find for `name`: it looks names up case-insensitively
 * (eventMacro/Lists.pm getByName). The exact spelling wins when several spellings exist.
 */
export function findEntry(map: ReadonlyMap<string, MacroEntry>, name: string): MacroEntry | undefined {
  const exact = map.get(name);
  if (exact) return exact;
  let index = lowerIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const e of [...map.values()].sort((a, b) => a.name.localeCompare(b.name))) if (!index.has(e.name.toLowerCase())) index.set(e.name.toLowerCase(), e);
    lowerIndexes.set(map, index);
  }
  return index.get(name.toLowerCase());
}

/** Literal `call` targets of a block (variables are resolved at run time). */
export function staticCalls(block: Block): Array<{ target: string; line: number }> {
  if (block.kind === 'macro') return block.calls;
  return block.call ? [{ target: block.call.target, line: block.call.line }] : [];
}

/** `name` and every macro it can reach through literal calls, as defined in `cat` (names as the catalog spells them). */
export function callClosure(name: string, cat: Catalog): string[] {
  const start = findEntry(cat.macros, name)?.name ?? name;
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const entry = cat.macros.get(queue.shift()!);
    if (!entry) continue;
    for (const call of staticCalls(entry.block)) {
      const target = findEntry(cat.macros, call.target)?.name;
      if (target !== undefined && !seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen];
}

export interface LoadPlan {
  /** New blocks, or blocks whose content changed: they get a new version. */
  changed: Block[];
  /** Same content, refreshed in place (line moved, analysis updated): same version. */
  refreshed: Block[];
  removed: Array<{ kind: BlockKind; name: string }>;
  removedMacros: string[];
}

/** What loading `doc` as `file` changes in `cat` (only the blocks eventMacro loads count). */
export function planLoad(file: string, doc: MacroDocument, cat: Catalog): LoadPlan {
  const changed: Block[] = [];
  const refreshed: Block[] = [];
  const present = new Set<string>();
  for (const block of doc.blocks) {
    if (block.ignored) continue;
    present.add(versionKey(block.kind, block.name));
    const current = mapOf(cat, block.kind).get(block.name);
    if (!current || current.file !== file || current.hash !== sha256(block.text) || current.retiring) changed.push(block);
    else refreshed.push(block);
  }
  const removed: Array<{ kind: BlockKind; name: string }> = [];
  for (const kind of ['macro', 'automacro'] as const) {
    for (const entry of mapOf(cat, kind).values()) {
      if (entry.file === file && !present.has(versionKey(kind, entry.name))) removed.push({ kind, name: entry.name });
    }
  }
  return { changed, refreshed, removed, removedMacros: removed.filter((r) => r.kind === 'macro').map((r) => r.name) };
}

/** The next catalog once `plan` is applied (versions of the changed blocks from the store). */
export function applyPlan(cat: Catalog, file: string, plan: LoadPlan, versions: ReadonlyMap<string, number>, at: number): Catalog {
  const macros = new Map(cat.macros);
  const automacros = new Map(cat.automacros);
  const target = (kind: BlockKind) => (kind === 'macro' ? macros : automacros);
  for (const r of plan.removed) target(r.kind).delete(r.name);
  for (const block of plan.changed) {
    target(block.kind).set(block.name, {
      kind: block.kind,
      name: block.name,
      version: versions.get(versionKey(block.kind, block.name)) ?? 1,
      hash: sha256(block.text),
      content: block.text,
      block,
      file,
      line: block.line,
      loadedAt: at,
      retiring: false,
    });
  }
  for (const block of plan.refreshed) {
    const current = target(block.kind).get(block.name);
    if (current) target(block.kind).set(block.name, { ...current, block, line: block.line });
  }
  return Object.freeze({ macros, automacros, generation: cat.generation + 1 });
}

/** The catalog without the entries of `file`, or with them marked retiring. */
export function withFile(cat: Catalog, file: string, change: 'remove' | 'retire' | 'unretire'): Catalog {
  const macros = new Map(cat.macros);
  const automacros = new Map(cat.automacros);
  for (const map of [macros, automacros]) {
    for (const [name, e] of map) {
      if (e.file !== file) continue;
      if (change === 'remove') map.delete(name);
      else if (e.retiring !== (change === 'retire')) map.set(name, { ...e, retiring: change === 'retire' });
    }
  }
  return Object.freeze({ macros, automacros, generation: cat.generation + 1 });
}

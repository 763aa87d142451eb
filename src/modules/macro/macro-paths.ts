import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../../common/fs/paths';
import { MacroFileTooLargeError, MacroPathError } from './macro.errors';
import { MAX_SOURCE_BYTES, NAME_PATTERN } from './language/validator';

/**
 * Everything the macro module reads or writes goes through these functions: paths are relative
 * to MACRO_DIR's real path, '/'-separated, made of plain segments (no `..`, no `.`, no dot
 * files, no backslashes), end in `.txt`, and — once symlinks are resolved — stay inside
 * MACRO_DIR. Nothing else is ever opened.
 */

const MAX_REL_LENGTH = 255;
const SEGMENT = /^[^/\\\0:*?"<>|]+$/;

/** The file a macro gets when it is created through the API. */
export function fileForName(name: string): string {
  assertMacroName(name);
  return `${name}.txt`;
}

export function assertMacroName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new MacroPathError('A macro name is 1-64 letters, digits, "_", "-" or single "." (no path separators, no "..")', {
      macro_name: typeof name === 'string' ? name.slice(0, 100) : name,
    });
  }
}

/** Whether a watcher event names a macro file (`*.txt`, no dot-file segment) — cheap, lexical. */
export function isMacroFileName(rel: string): boolean {
  return checkRelative(rel) === undefined;
}

/** Validates a relative macro file path; returns it normalized to '/' separators. */
export function assertRelativePath(input: unknown): string {
  if (typeof input !== 'string') throw new MacroPathError('A macro file path must be a string');
  const rel = input.split(path.sep).join('/');
  const problem = checkRelative(rel);
  if (problem) throw new MacroPathError(`Refused macro file path: ${problem}`, { path: input.slice(0, 300) });
  return rel;
}

function checkRelative(rel: string): string | undefined {
  if (rel.length === 0 || rel.length > MAX_REL_LENGTH) return `length must be 1 to ${MAX_REL_LENGTH}`;
  if (rel.includes('\0')) return 'contains NUL';
  if (path.posix.isAbsolute(rel) || path.win32.isAbsolute(rel) || rel.includes('\\')) return 'must be relative to MACRO_DIR';
  const segments = rel.split('/');
  for (const seg of segments) {
    if (seg === '' || seg === '.' || seg === '..') return 'empty, "." or ".." segment';
    if (seg.startsWith('.')) return 'hidden (dot) files and folders are not macro files';
    if (!SEGMENT.test(seg)) return `invalid characters in "${seg}"`;
  }
  if (!rel.endsWith('.txt')) return 'macro files end in .txt';
  return undefined;
}

export type ResolvedRead =
  | { status: 'ok'; real: string; stat: Stats }
  | { status: 'missing' }
  | { status: 'refused'; reason: string }
  | { status: 'not-file' };

/**
 * Where to read `rel` from. A symlink (of the file or of a folder on the way) is followed only
 * when its target is inside MACRO_DIR; a dangling one counts as refused, not missing.
 */
export async function resolveForRead(root: string, rel: string): Promise<ResolvedRead> {
  const checked = assertRelativePath(rel);
  const lexical = path.join(root, ...checked.split('/'));
  if (!isInside(root, lexical)) return { status: 'refused', reason: 'outside MACRO_DIR' };
  let link: Stats;
  try {
    link = await fsp.lstat(lexical);
  } catch (err) {
    if (isMissing(err)) return { status: 'missing' };
    return { status: 'refused', reason: `cannot stat: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  let real: string;
  try {
    real = await fsp.realpath(lexical);
  } catch (err) {
    if (isMissing(err)) return link.isSymbolicLink() ? { status: 'refused', reason: 'symlink to nothing' } : { status: 'missing' };
    return { status: 'refused', reason: `cannot resolve: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (!isInside(root, real)) return { status: 'refused', reason: 'resolves (through a symlink) outside MACRO_DIR' };
  const stat = await fsp.stat(real).catch(() => undefined);
  if (!stat) return { status: 'missing' };
  if (!stat.isFile()) return { status: 'not-file' };
  return { status: 'ok', real, stat };
}

/** Reads a resolved file: no symlink followed at the last step, regular files only, size-capped. */
export async function readMacroFile(real: string, maxBytes = MAX_SOURCE_BYTES): Promise<string> {
  const handle = await fsp.open(real, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MacroPathError('not a regular file');
    if (stat.size > maxBytes) throw new MacroFileTooLargeError(stat.size, maxBytes);
    return await handle.readFile({ encoding: 'utf8' });
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` to `rel` atomically: a temporary dot file in the same folder (the watcher
 * ignores dot files), fsync, rename over the target. Folders on the way are created inside
 * MACRO_DIR; a target that is a symlink, or a folder that resolves outside, is refused.
 */
export async function writeMacroFileAtomic(root: string, rel: string, content: string): Promise<void> {
  const checked = assertRelativePath(rel);
  const target = path.join(root, ...checked.split('/'));
  if (!isInside(root, target)) throw new MacroPathError('Refused macro file path: outside MACRO_DIR', { path: rel });
  const dir = path.dirname(target);
  await mkdirInside(root, dir);
  const realDir = await fsp.realpath(dir);
  if (realDir !== root && !isInside(root, realDir)) throw new MacroPathError('Refused macro file path: its folder resolves outside MACRO_DIR', { path: rel });
  const existing = await fsp.lstat(target).catch((err: unknown) => (isMissing(err) ? undefined : Promise.reject(err)));
  if (existing?.isSymbolicLink()) throw new MacroPathError('Refused macro file path: the file is a symlink', { path: rel });
  if (existing && !existing.isFile()) throw new MacroPathError('Refused macro file path: not a regular file', { path: rel });
  const finalTarget = path.join(realDir, path.basename(target));
  const tmp = path.join(realDir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0), 0o644);
  try {
    try {
      await handle.writeFile(content, { encoding: 'utf8' });
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, finalTarget);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** `mkdir -p` that refuses to create through a symlink pointing outside `root`. */
async function mkdirInside(root: string, dir: string): Promise<void> {
  if (dir === root) return;
  if (!isInside(root, dir)) throw new MacroPathError('Refused macro file path: outside MACRO_DIR');
  const rel = path.relative(root, dir).split(path.sep);
  let current = root;
  for (const seg of rel) {
    current = path.join(current, seg);
    const stat = await fsp.lstat(current).catch((err: unknown) => (isMissing(err) ? undefined : Promise.reject(err)));
    if (!stat) {
      await fsp.mkdir(current).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
      continue;
    }
    if (stat.isSymbolicLink()) {
      const real = await fsp.realpath(current);
      if (!isInside(root, real)) throw new MacroPathError('Refused macro file path: a folder on the way is a symlink outside MACRO_DIR');
      continue;
    }
    if (!stat.isDirectory()) throw new MacroPathError(`Refused macro file path: "${seg}" is not a folder`);
  }
}

/**
 * Every `*.txt` file under `root` (relative, '/'-separated, sorted). Dot entries are skipped and
 * symlinked folders are not descended into (no loops, no escapes); symlinked files are listed
 * and checked when read.
 */
export async function listMacroFiles(root: string, limit = 10_000): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 16 || out.length >= limit) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(path.join(dir, e.name), rel, depth + 1);
      else if ((e.isFile() || e.isSymbolicLink()) && isMacroFileName(rel)) out.push(rel);
      if (out.length >= limit) return;
    }
  };
  await visit(root, '', 0);
  return out.sort();
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether MACRO_DIR exists (and is a folder); returns its real path. */
export async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fsp.realpath(dir);
    const stat = await fsp.stat(real);
    return stat.isDirectory() ? real : null;
  } catch {
    return null;
  }
}

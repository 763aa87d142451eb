import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MAX_MODEL_BYTES } from './ml.constants';
import { ModelFileNotFoundError, ModelPathError, ModelValidationError } from './ml.errors';
import { isInside } from '../../common/fs/paths';

export interface ResolvedModelPath {
  /** Canonical path relative to MODEL_DIR's real path, '/'-separated (what the registry stores). */
  readonly relative: string;
  /** Absolute real path of the file (no symlink left in it). */
  readonly real: string;
}

/**
 * Resolves a caller-supplied model path against MODEL_DIR. Refused with 400 (ModelPathError):
 * an absolute path, a path that leaves MODEL_DIR lexically (`..`), one whose real path (after
 * symlinks) is outside MODEL_DIR's real path, anything but a regular `.onnx` file. A path
 * inside MODEL_DIR that does not exist is a 404.
 */
export async function resolveModelPath(modelDir: string, input: string): Promise<ResolvedModelPath> {
  if (typeof input !== 'string' || input.length === 0 || input.length > 1024 || input.includes('\0')) {
    throw new ModelPathError('model_path must be a relative path of 1 to 1024 characters');
  }
  if (path.isAbsolute(input) || path.win32.isAbsolute(input)) {
    throw new ModelPathError('model_path must be relative to MODEL_DIR, not absolute', { model_path: input });
  }
  const root = path.resolve(modelDir);
  const lexical = path.resolve(root, input);
  if (!isInside(root, lexical)) {
    throw new ModelPathError('model_path resolves outside MODEL_DIR', { model_path: input });
  }
  if (path.extname(lexical).toLowerCase() !== '.onnx') {
    throw new ModelPathError('model_path must name a .onnx file', { model_path: input });
  }
  let realRoot: string;
  try {
    realRoot = await fsp.realpath(root);
  } catch {
    throw new ModelFileNotFoundError(input);
  }
  let real: string;
  try {
    real = await fsp.realpath(lexical);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // A dangling symlink is as much "outside" as a live one; only a plain absence is a 404.
      const link = await fsp.lstat(lexical).catch(() => undefined);
      if (link?.isSymbolicLink()) throw new ModelPathError('model_path is a symlink to nowhere inside MODEL_DIR', { model_path: input });
      throw new ModelFileNotFoundError(input);
    }
    throw new ModelPathError(`model_path cannot be resolved: ${(err as Error).message}`, { model_path: input });
  }
  if (!isInside(realRoot, real)) {
    throw new ModelPathError('model_path resolves (through a symlink) outside MODEL_DIR', { model_path: input });
  }
  return { relative: path.relative(realRoot, real).split(path.sep).join('/'), real };
}

/**
 * Reads a resolved model file: opened without following a final symlink (the real path has
 * none, so one appearing now is a swap in progress), regular files only, size-capped.
 */
export async function readModelFile(real: string, maxBytes = MAX_MODEL_BYTES): Promise<Buffer> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(real, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelFileNotFoundError(path.basename(real));
    throw new ModelPathError(`Cannot open the model file: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ModelPathError('model_path is not a regular file');
    if (stat.size > maxBytes) throw new ModelValidationError(`Model file is ${stat.size} bytes; the limit is ${maxBytes}`);
    if (stat.size === 0) throw new ModelValidationError('Model file is empty');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

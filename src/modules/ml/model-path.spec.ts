import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFileNotFoundError, ModelPathError, ModelValidationError } from './ml.errors';
import { readModelFile, resolveModelPath } from './model-path';

describe('resolveModelPath', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-mlpath-'));
  const modelDir = path.join(root, 'models');
  const outside = path.join(root, 'elsewhere');

  beforeAll(() => {
    fs.mkdirSync(path.join(modelDir, 'trained'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(modelDir, 'a.onnx'), 'x');
    fs.writeFileSync(path.join(modelDir, 'trained', 'b.onnx'), 'y');
    fs.writeFileSync(path.join(modelDir, 'notes.txt'), 'z');
    fs.writeFileSync(path.join(outside, 'evil.onnx'), 'e');
    fs.symlinkSync(path.join(outside, 'evil.onnx'), path.join(modelDir, 'link-out.onnx'));
    fs.symlinkSync(outside, path.join(modelDir, 'dir-out'));
    fs.symlinkSync(path.join(modelDir, 'a.onnx'), path.join(modelDir, 'link-in.onnx'));
    fs.symlinkSync(path.join(modelDir, 'gone.onnx'), path.join(modelDir, 'dangling.onnx'));
    fs.mkdirSync(path.join(modelDir, 'folder.onnx'));
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('resolves files inside MODEL_DIR to a canonical relative path', async () => {
    await expect(resolveModelPath(modelDir, 'a.onnx')).resolves.toMatchObject({ relative: 'a.onnx' });
    await expect(resolveModelPath(modelDir, './trained/../trained/b.onnx')).resolves.toMatchObject({ relative: 'trained/b.onnx' });
    // A symlink that stays inside is fine; the registry records where it really points.
    await expect(resolveModelPath(modelDir, 'link-in.onnx')).resolves.toMatchObject({ relative: 'a.onnx' });
  });

  it.each([
    ['an absolute path', path.join(outside, 'evil.onnx')],
    ['an absolute path inside MODEL_DIR too', path.join(modelDir, 'a.onnx')],
    ['a .. escape', '../elsewhere/evil.onnx'],
    ['a deeper .. escape', 'trained/../../elsewhere/evil.onnx'],
    ['a symlinked file pointing outside', 'link-out.onnx'],
    ['a symlinked directory pointing outside', 'dir-out/evil.onnx'],
    ['a dangling symlink', 'dangling.onnx'],
    ['a file that is not .onnx', 'notes.txt'],
    ['MODEL_DIR itself', '.'],
    ['an empty path', ''],
    ['a NUL byte', 'a\0.onnx'],
  ])('refuses %s with 400 INVALID_REQUEST', async (_name, input) => {
    const err = await resolveModelPath(modelDir, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPathError);
    expect((err as ModelPathError).status).toBe(400);
    expect((err as ModelPathError).code).toBe('INVALID_REQUEST');
  });

  it('says 404 for a missing file inside MODEL_DIR', async () => {
    await expect(resolveModelPath(modelDir, 'missing.onnx')).rejects.toBeInstanceOf(ModelFileNotFoundError);
  });

  it('reads regular files only, size-capped', async () => {
    const ok = await resolveModelPath(modelDir, 'a.onnx');
    await expect(readModelFile(ok.real)).resolves.toEqual(Buffer.from('x'));
    await expect(readModelFile(ok.real, 0)).rejects.toBeInstanceOf(ModelValidationError);
    const dir = await resolveModelPath(modelDir, 'folder.onnx');
    await expect(readModelFile(dir.real)).rejects.toBeInstanceOf(ModelPathError);
  });
});

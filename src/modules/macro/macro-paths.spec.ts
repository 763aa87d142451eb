import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertMacroName, assertRelativePath, isMacroFileName, listMacroFiles, readMacroFile, resolveForRead, writeMacroFileAtomic } from './macro-paths';
import { MacroFileTooLargeError, MacroPathError } from './macro.errors';

describe('macro paths', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okai-paths-')));
    outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'okai-outside-')));
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('accepts plain relative .txt paths and names, refuses anything that could leave the folder', () => {
    expect(assertRelativePath('a.txt')).toBe('a.txt');
    expect(assertRelativePath('gen/sub/a.txt')).toBe('gen/sub/a.txt');
    for (const bad of ['', '../a.txt', 'a/../../b.txt', '/etc/passwd.txt', 'C:\\x.txt', 'a\\b.txt', './a.txt', 'a//b.txt', '.hidden.txt', 'dir/.x/a.txt', 'a.txt\0', 'a.md', 'a.TXT.bak']) {
      expect(() => assertRelativePath(bad)).toThrow(MacroPathError);
      expect(isMacroFileName(bad)).toBe(false);
    }
    expect(() => assertMacroName('farm_08.v2')).not.toThrow();
    for (const bad of ['', '..', 'a..b', '.a', 'a/b', 'a\\b', 'a b', 'x'.repeat(65), 'a%2Fb']) expect(() => assertMacroName(bad)).toThrow(MacroPathError);
  });

  it('follows symlinks only when they stay inside', async () => {
    fs.writeFileSync(path.join(outside, 'evil.txt'), 'macro x {\n}\n');
    fs.writeFileSync(path.join(root, 'real.txt'), 'macro y {\n}\n');
    fs.symlinkSync(path.join(outside, 'evil.txt'), path.join(root, 'escape.txt'));
    fs.symlinkSync(path.join(root, 'real.txt'), path.join(root, 'alias.txt'));
    fs.symlinkSync(outside, path.join(root, 'out'));
    fs.symlinkSync(path.join(root, 'nowhere.txt'), path.join(root, 'dangling.txt'));
    fs.mkdirSync(path.join(root, 'dir.txt'));
    expect(await resolveForRead(root, 'escape.txt')).toMatchObject({ status: 'refused' });
    expect(await resolveForRead(root, 'out/evil.txt')).toMatchObject({ status: 'refused' });
    expect(await resolveForRead(root, 'dangling.txt')).toMatchObject({ status: 'refused' });
    expect(await resolveForRead(root, 'alias.txt')).toMatchObject({ status: 'ok', real: path.join(root, 'real.txt') });
    expect(await resolveForRead(root, 'missing.txt')).toEqual({ status: 'missing' });
    expect(await resolveForRead(root, 'dir.txt')).toEqual({ status: 'not-file' });
    expect(await listMacroFiles(root)).toEqual(['alias.txt', 'dangling.txt', 'escape.txt', 'real.txt']);
  });

  it('caps what it reads', async () => {
    fs.writeFileSync(path.join(root, 'big.txt'), 'x'.repeat(2048));
    await expect(readMacroFile(path.join(root, 'big.txt'), 1024)).rejects.toBeInstanceOf(MacroFileTooLargeError);
  });

  it('writes atomically inside the folder, creating subfolders, leaving no temporary file', async () => {
    await writeMacroFileAtomic(root, 'gen/deep/a.txt', 'macro a {\n}\n');
    await writeMacroFileAtomic(root, 'gen/deep/a.txt', 'macro a {\n    log 2\n}\n');
    expect(fs.readFileSync(path.join(root, 'gen/deep/a.txt'), 'utf8')).toContain('log 2');
    expect(fs.readdirSync(path.join(root, 'gen/deep'))).toEqual(['a.txt']);
  });

  it('refuses to write through a symlink, a folder that leaves, or outside', async () => {
    fs.symlinkSync(path.join(outside, 'target.txt'), path.join(root, 'link.txt'));
    fs.symlinkSync(outside, path.join(root, 'out'));
    await expect(writeMacroFileAtomic(root, 'link.txt', 'x')).rejects.toBeInstanceOf(MacroPathError);
    await expect(writeMacroFileAtomic(root, 'out/a.txt', 'x')).rejects.toBeInstanceOf(MacroPathError);
    await expect(writeMacroFileAtomic(root, '../a.txt', 'x')).rejects.toBeInstanceOf(MacroPathError);
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

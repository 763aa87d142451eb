import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateMacroSource, type ValidationContext } from '../src/modules/macro';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { CORPUS_DIR, corpusFiles, describeActual, expected, readExpectation } from './support/eventmacro-corpus';

/**
 * The eventMacro corpus (test/fixtures/eventmacro): every file states the verdict eventMacro gives
 * it, derived from eventMacro's source (the reasoning is in the file, case by case). The engine
 * must agree on every one: first its validator, file by file; then the running engine, with the
 * whole corpus as its MACRO_DIR, through GET /api/v1/macro.
 */
const files = corpusFiles();
/** Files whose verdict depends on the other files of their folder (eventMacro loads them as one). */
const folderCases = files.filter((f) => f.startsWith('folder/'));

/** The include states the registry would find, for a file checked on its own. */
function includeContext(file: string, source: string): ValidationContext {
  const includes = new Map<string, 'present' | 'missing' | 'self'>();
  for (const m of source.matchAll(/^\s*!include(?:_create_if_missing)?\s+(.*?)\s*$/gm)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
    includes.set(m[1], target === file ? 'self' : fs.existsSync(path.join(CORPUS_DIR, target)) ? 'present' : 'missing');
  }
  return { includes };
}

describe('eventMacro corpus: the validator agrees with eventMacro, file by file', () => {
  it('has the files it claims to have', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files.filter((f) => readExpectation(f).verdict === 'refuse').length).toBeGreaterThanOrEqual(5);
  });

  it.each(files.filter((f) => !folderCases.includes(f)))('%s', (file) => {
    const source = fs.readFileSync(path.join(CORPUS_DIR, file), 'utf8');
    const r = validateMacroSource(source, includeContext(file, source));
    const actual = describeActual({
      errors: r.errors,
      blocks: [...r.document.blocks, ...r.document.subs].map((b) => ({ kind: b.kind, name: b.name, status: b.ignored ? 'ignored' : 'loaded', reason: b.ignored })),
      warnings: r.warnings,
    });
    expect(actual).toEqual(expected(readExpectation(file)));
  });
});

describe('eventMacro corpus: the engine agrees through GET /api/v1/macro, the corpus as its folder', () => {
  let e: RunningEngine;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('okai-corpus-');
    fs.cpSync(CORPUS_DIR, dir, { recursive: true });
    e = await startEngine({ MACRO_DIR: dir, MACRO_RESCAN_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await e?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports every file with its loaded blocks, its warnings and, when refused, its first error and line', async () => {
    const res = await request(`${e.url}/api/v1/macro`);
    expect(res.status).toBe(200);
    const reported = new Map<string, any>(res.body.data.files.map((f: any) => [f.file, f]));
    expect([...reported.keys()].sort()).toEqual([...files].sort());
    for (const file of files) {
      const f = reported.get(file);
      const exp = readExpectation(file);
      const actual = describeActual({ errors: f.rejection?.errors ?? [], blocks: f.blocks, warnings: f.warnings });
      expect({ file, ...actual }).toEqual({ file, ...expected(exp) });
      if (exp.verdict === 'refuse') {
        const first = exp.errors[0].split(' ');
        expect({ file, first_error: f.first_error }).toEqual({ file, first_error: expect.objectContaining({ line: Number(first[0]), code: first[1] }) });
        expect(f.status).toBe('rejected');
      } else {
        expect({ file, first_error: f.first_error, status: f.status }).toEqual({ file, first_error: null, status: 'loaded' });
      }
    }
  });
});

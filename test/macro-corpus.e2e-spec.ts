import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateMacroSource, type ValidationContext } from '../src/modules/macro';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';

/**
 * The eventMacro corpus (test/fixtures/eventmacro): files written for this project, each with
 * the verdict eventMacro gives it, stated in `#@` comment lines (eventMacro hides comment lines,
 * so they change nothing):
 *
 *   #@ verdict load | refuse        the file loads, or eventMacro refuses it whole
 *   #@ refuse +N CODE               the error that refuses it, N lines below this one
 *   #@ load KIND NAME               a macro / automacro / sub that loads
 *   #@ ignore KIND NAME CODE        a block eventMacro drops (the rest of the file loads)
 *   #@ warn +N EFFECT CODE          a line eventMacro skips (line_ignored) or stops on (stops_macro), or advice
 *
 * A file that loads is expected to produce exactly these blocks and warnings, nothing more.
 */
const CORPUS_DIR = path.resolve(__dirname, 'fixtures', 'eventmacro');

interface CorpusExpectation {
  file: string;
  verdict: 'load' | 'refuse';
  errors: string[];
  loaded: string[];
  ignored: string[];
  warnings: string[];
}

function corpusFiles(dir = CORPUS_DIR, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) out.push(...corpusFiles(path.join(dir, e.name), `${prefix}${e.name}/`));
    else if (e.name.endsWith('.txt')) out.push(`${prefix}${e.name}`);
  }
  return out;
}

function readExpectation(file: string): CorpusExpectation {
  const lines = fs.readFileSync(path.join(CORPUS_DIR, file), 'utf8').split(/\r?\n/);
  const exp: CorpusExpectation = { file, verdict: 'load', errors: [], loaded: [], ignored: [], warnings: [] };
  let verdicts = 0;
  lines.forEach((text, i) => {
    const m = /^\s*#@\s*(\S+)\s*(.*)$/.exec(text);
    if (!m) return;
    const args = m[2].trim().split(/\s+/);
    const at = (offset: string) => {
      if (!/^\+\d+$/.test(offset)) throw new Error(`${file}:${i + 1}: expected +N, got "${offset}"`);
      return i + 1 + Number(offset.slice(1));
    };
    switch (m[1]) {
      case 'verdict':
        verdicts++;
        if (args[0] !== 'load' && args[0] !== 'refuse') throw new Error(`${file}:${i + 1}: verdict is load or refuse`);
        exp.verdict = args[0];
        break;
      case 'refuse':
        exp.errors.push(`${at(args[0])} ${args[1]}`);
        break;
      case 'load':
        exp.loaded.push(`${args[0]} ${args.slice(1).join(' ')}`);
        break;
      case 'ignore':
        exp.ignored.push(`${args[0]} ${args.slice(1, -1).join(' ')} ${args[args.length - 1]}`);
        break;
      case 'warn':
        exp.warnings.push(`${at(args[0])} ${args[1]} ${args[2]}`);
        break;
      default:
        throw new Error(`${file}:${i + 1}: unknown annotation "${m[1]}"`);
    }
  });
  if (verdicts !== 1) throw new Error(`${file}: needs exactly one "#@ verdict"`);
  for (const list of [exp.errors, exp.loaded, exp.ignored, exp.warnings]) list.sort();
  return exp;
}

/** What the engine says of a file, in the corpus's terms. */
interface CorpusActual {
  errors: Array<{ line: number; code: string }>;
  blocks: Array<{ kind: string; name: string; status: string; reason: { code: string } | null }>;
  warnings: Array<{ line: number; effect: string; code: string }>;
}

function describeActual(a: CorpusActual): Omit<CorpusExpectation, 'file' | 'verdict'> & { verdict: 'load' | 'refuse' } {
  const refused = a.errors.length > 0;
  return {
    verdict: refused ? 'refuse' : 'load',
    errors: a.errors.map((e) => `${e.line} ${e.code}`).sort(),
    loaded: refused ? [] : a.blocks.filter((b) => b.status === 'loaded').map((b) => `${b.kind} ${b.name}`).sort(),
    ignored: refused ? [] : a.blocks.filter((b) => b.status === 'ignored').map((b) => `${b.kind} ${b.name} ${b.reason?.code ?? '?'}`).sort(),
    warnings: refused ? [] : a.warnings.filter((w) => w.effect !== 'block_ignored').map((w) => `${w.line} ${w.effect} ${w.code}`).sort(),
  };
}

/** The expectation without its file name, comparable with describeActual(). */
function expected(e: CorpusExpectation): ReturnType<typeof describeActual> {
  return e.verdict === 'refuse'
    ? { verdict: 'refuse', errors: e.errors, loaded: [], ignored: [], warnings: [] }
    : { verdict: 'load', errors: e.errors, loaded: e.loaded, ignored: e.ignored, warnings: e.warnings };
}

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

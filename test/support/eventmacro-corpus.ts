import * as fs from 'node:fs';
import * as path from 'node:path';

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
export const CORPUS_DIR = path.resolve(__dirname, '..', 'fixtures', 'eventmacro');

export interface CorpusExpectation {
  file: string;
  verdict: 'load' | 'refuse';
  errors: string[];
  loaded: string[];
  ignored: string[];
  warnings: string[];
}

export function corpusFiles(dir = CORPUS_DIR, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) out.push(...corpusFiles(path.join(dir, e.name), `${prefix}${e.name}/`));
    else if (e.name.endsWith('.txt')) out.push(`${prefix}${e.name}`);
  }
  return out;
}

export function readExpectation(file: string): CorpusExpectation {
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
export interface CorpusActual {
  errors: Array<{ line: number; code: string }>;
  blocks: Array<{ kind: string; name: string; status: string; reason: { code: string } | null }>;
  warnings: Array<{ line: number; effect: string; code: string }>;
}

export function describeActual(a: CorpusActual): Omit<CorpusExpectation, 'file' | 'verdict'> & { verdict: 'load' | 'refuse' } {
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
export function expected(e: CorpusExpectation): ReturnType<typeof describeActual> {
  return e.verdict === 'refuse'
    ? { verdict: 'refuse', errors: e.errors, loaded: [], ignored: [], warnings: [] }
    : { verdict: 'load', errors: e.errors, loaded: e.loaded, ignored: e.ignored, warnings: e.warnings };
}

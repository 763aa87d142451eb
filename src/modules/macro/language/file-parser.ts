import type { AutomacroBlock, AutomacroEntry, Block, Diagnostic, DiagnosticCode, Effect, IncludeRef, MacroBlock, MacroDocument, SubBlock } from './ast';

/**
 * Cuts an eventMacro file into blocks exactly as eventMacro's file parser does
 * (eventMacro/FileParser.pm parseMacroFile, reading through OpenKore's Utils/TextReader.pm).
 * Every line eventMacro skips is reported with what eventMacro does about it; a block left open
 * at the end of the file makes eventMacro refuse the whole file.
 */

/** The automacro keys that are parameters (eventMacro/Data.pm %parameters); every other key is a condition. */
export const AUTOMACRO_PARAMETERS: ReadonlySet<string> = new Set([
  'timeout',
  'delay',
  'run-once',
  'disabled',
  'call',
  'overrideAI',
  'overrideNotWhenInQueue',
  'CheckOnCycleStage',
  'orphan',
  'macro_delay',
  'priority',
  'exclusive',
  'self_interruptible',
  'repeat',
  'CheckOnAI',
]);

/** The name eventMacro gives the macro of an automacro's `call { … }`. */
export function callBlockName(automacro: string): string {
  return `automacro_${automacro}_call_block`;
}

/** A line that opens a nested block inside a macro (FileParser.pm isNewCommandBlock). */
export function opensCommandBlock(text: string): boolean {
  return /^if.*\{$/.test(text) || /^case.*\{$/.test(text) || /^switch.*\{$/.test(text) || /^else.*\{$/.test(text) || /^while.*\{$/.test(text);
}

/** `} else {` or `} elsif (…) {` with no block open: eventMacro skips the line (isNewWrongCommandBlock). */
function isStrayBranch(text: string): boolean {
  return /^}\s*else\s*\{$/.test(text) || /}\s*elsif.*\{$/.test(text) || /^case.*\{$/.test(text) || /^else*\{$/.test(text);
}

/** FileParser.pm's clean-up of a line: trailing comment, surrounding blanks, runs of spaces. */
export function cleanLine(raw: string): string {
  return raw
    .replace(/\s+#[\s\S]*$/, '')
    .replace(/^\s+|\s+$/g, '')
    .replace(/ {2,}/g, ' ');
}

interface RawLine {
  n: number;
  raw: string;
}

/** Utils/TextReader.pm: BOMs removed, `!include` lines taken out, comment-only and blank lines hidden. */
class Reader {
  private i = 0;
  private readonly physical: string[];
  readonly includes: Array<{ line: number; target: string; createIfMissing: boolean }> = [];

  constructor(source: string) {
    this.physical = source.split(/\r?\n/);
    if (this.physical.length > 0 && this.physical[this.physical.length - 1] === '') this.physical.pop();
  }

  get lineCount(): number {
    return this.physical.length;
  }

  lineText(n: number): string {
    return this.physical[n - 1] ?? '';
  }

  read(): RawLine | undefined {
    while (this.i < this.physical.length) {
      const n = ++this.i;
      const raw = this.physical[n - 1].replace(/\uFEFF/g, '');
      const include = /^\s*!include\s+(.*?)\s*$/s.exec(raw);
      if (include) {
        this.includes.push({ line: n, target: include[1], createIfMissing: false });
        continue;
      }
      const create = /^\s*!include_create_if_missing\s+(.*?)\s*$/s.exec(raw);
      if (create) {
        this.includes.push({ line: n, target: create[1], createIfMissing: true });
        continue;
      }
      if (/^\s*(#|$)/.test(raw)) continue;
      return { n, raw };
    }
    return undefined;
  }
}

interface OpenBlock {
  type: 'macro' | 'automacro' | 'sub' | 'bogus';
  name: string;
  line: number;
  macro?: MacroBlock;
  automacro?: AutomacroBlock;
  sub?: { block: SubBlock; perl: string[]; depth: number };
  /** Inside an automacro's `call { … }`: the macro being filled. */
  callBlock?: MacroBlock;
  /** The automacro had a `call { … }` (eventMacro keeps its name after the block closes). */
  callBlockName?: string;
}

export interface ParsedFile extends MacroDocument {
  /** Names of the `sub` blocks (eventMacro's @perl_name), which macros may call. */
  subNames: string[];
}

/** Parses eventMacro source into blocks; never throws. */
export function parseFile(source: string): ParsedFile {
  return new FileParser(source).parse();
}

class FileParser {
  private readonly reader: Reader;
  private readonly diagnostics: Diagnostic[] = [];
  private readonly macros: MacroBlock[] = [];
  private readonly automacros: AutomacroBlock[] = [];
  private readonly subs: SubBlock[] = [];
  private readonly includes: IncludeRef[] = [];
  /** eventMacro's %macro: one slot per exact name; a second header marks it duplicated. */
  private readonly macroSlots = new Map<string, { blocks: MacroBlock[]; duplicated: boolean }>();
  /** eventMacro's %automacro: entries pushed per name; a header finding some marks it duplicated. */
  private readonly automacroSlots = new Map<string, { blocks: AutomacroBlock[]; pushed: number; duplicated: boolean }>();
  /** The shared open-block counter of macro bodies and call blocks ($macroCountOpenBlock). */
  private openCommandBlocks = 0;
  private block: OpenBlock | null = null;
  private structureOk = true;

  constructor(source: string) {
    this.reader = new Reader(source.replace(/^\uFEFF/, ''));
  }

  parse(): ParsedFile {
    for (let l = this.reader.read(); l; l = this.reader.read()) {
      // Includes read before this line belong to the block as it was before the line.
      this.noteIncludes();
      this.line(l);
    }
    this.noteIncludes();
    if (this.block) {
      const b = this.block;
      this.structureOk = false;
      const what = b.type === 'bogus' ? 'block' : `${b.type} block "${b.name}"`;
      this.diag('UNBALANCED_BRACES', 'file_refused', b.line, `${what} opened here is never closed (missing "}"): eventMacro refuses the whole file`, b.type === 'bogus' ? undefined : b.name);
      this.finishOpen(this.reader.lineCount);
    }
    this.settleDuplicates();
    const blocks: Block[] = [...this.macros, ...this.automacros].sort((a, b) => a.line - b.line || (a.kind === 'automacro' ? -1 : 1));
    return {
      blocks,
      subs: this.subs,
      includes: this.includes,
      lineCount: this.reader.lineCount,
      diagnostics: this.diagnostics,
      structureOk: this.structureOk,
      subNames: [...new Set(this.subs.map((s) => s.name))],
    };
  }

  private noteIncludes(): void {
    for (const inc of this.reader.includes.slice(this.includes.length)) {
      this.includes.push({ ...inc, insideBlock: this.block && this.block.type !== 'bogus' ? this.block.name : null });
    }
  }

  private line({ n, raw }: RawLine): void {
    const t = cleanLine(raw);
    // Perl's `next unless ($_)`: an empty line, and a line that is just "0", are skipped.
    if (t === '' || t === '0') return;
    const b = this.block;
    if (!b) return this.topLevel(n, t);
    switch (b.type) {
      case 'bogus':
        if (t === '}') this.close(n);
        return;
      case 'macro':
        return this.macroLine(b, b.macro!, n, t);
      case 'automacro':
        return this.automacroLine(b, n, t);
      case 'sub':
        return this.subLine(b, n, t);
    }
  }

  private topLevel(n: number, t: string): void {
    if (t.endsWith('{')) {
      const m = /^(.*?)\s+(.*?)\s*\{$/.exec(t);
      const key = m?.[1];
      const name = m?.[2] ?? '';
      if (key === 'macro') {
        const macro = this.newMacro(name, n);
        const slot = this.macroSlots.get(name);
        if (slot) {
          slot.duplicated = true;
          slot.blocks.push(macro);
        } else this.macroSlots.set(name, { blocks: [macro], duplicated: false });
        this.block = { type: 'macro', name, line: n, macro };
      } else if (key === 'automacro') {
        const auto: AutomacroBlock = {
          kind: 'automacro',
          name,
          line: n,
          endLine: n,
          text: '',
          ignored: null,
          entries: [],
          call: null,
          options: {},
          conditions: [],
          evaluatedByBot: [],
        };
        this.automacros.push(auto);
        const slot = this.automacroSlots.get(name);
        if (slot) {
          if (slot.pushed > 0 || slot.duplicated) slot.duplicated = true;
          slot.blocks.push(auto);
        } else this.automacroSlots.set(name, { blocks: [auto], pushed: 0, duplicated: false });
        this.block = { type: 'automacro', name, line: n, automacro: auto };
      } else if (key === 'sub') {
        const sub: SubBlock = { kind: 'sub', name, line: n, endLine: n, text: '', ignored: null, evaluatedByBot: ['Perl code only the bot runs'], code: '' };
        this.block = { type: 'sub', name, line: n, sub: { block: sub, perl: [], depth: 0 } };
      } else {
        this.block = { type: 'bogus', name: '', line: n };
        this.diag('IGNORED_LINE', 'line_ignored', n, `"${t}" does not start a macro, automacro or sub block: eventMacro skips it and everything up to its "}"`);
      }
      return;
    }
    if (t === '}') this.diag('IGNORED_LINE', 'line_ignored', n, `"}" closes no block: eventMacro skips it`);
    else this.diag('IGNORED_LINE', 'line_ignored', n, `"${clip(t)}" is outside any macro or automacro block: eventMacro skips it`);
  }

  private macroLine(b: OpenBlock, macro: MacroBlock, n: number, t: string): void {
    if (t === '}') {
      if (this.openCommandBlocks > 0) {
        macro.lines.push({ line: n, text: '}' });
        this.openCommandBlocks--;
      } else this.close(n);
      return;
    }
    if (opensCommandBlock(t)) this.openCommandBlocks++;
    else if (this.openCommandBlocks === 0 && isStrayBranch(t)) {
      this.diag('IGNORED_LINE', 'line_ignored', n, `"${t}" has no open block to continue: eventMacro skips the line`, b.name);
      return;
    }
    macro.lines.push({ line: n, text: t });
  }

  private automacroLine(b: OpenBlock, n: number, t: string): void {
    if (t === '}') {
      if (b.callBlock) {
        if (this.openCommandBlocks > 0) {
          b.callBlock.lines.push({ line: n, text: '}' });
          this.openCommandBlocks--;
        } else {
          b.callBlock.endLine = n;
          b.callBlock.text = this.textOf(b.callBlock.line, n);
          b.callBlock = undefined;
        }
      } else this.close(n);
      return;
    }
    // `call NAME …` — unless the automacro already had a `call { … }` block (then the line is a
    // plain key/value). Note the unanchored test: any line with "call " followed by something
    // else than "{" is taken for a call line (FileParser.pm).
    if (/call [^{]/.test(t) && !this.macroSlots.has(b.callBlockName ?? '')) {
      const m = /^(call)\s+(\S+)(?:\s*(.*))?/.exec(t);
      if (!m) {
        this.diag('IGNORED_LINE', 'line_ignored', n, `"${clip(t)}" contains "call " but is not "call MACRO": eventMacro skips the line`, b.name);
        return;
      }
      this.push(b, { line: n, key: 'call', value: `${m[2]} ${m[3] ?? ''}`, role: 'parameter' });
      return;
    }
    if (t === 'call {') {
      const name = callBlockName(b.name);
      b.callBlockName = name;
      const macro = this.newMacro(name, n);
      macro.callBlockOf = b.name;
      const previous = this.macroSlots.get(name);
      for (const old of previous?.blocks ?? []) old.ignored ??= this.ignoredBy('DUPLICATE_NAME', old, `macro "${name}" is replaced by the call block of automacro "${b.name}" (line ${n})`);
      this.macroSlots.set(name, { blocks: [macro], duplicated: false });
      b.callBlock = macro;
      this.push(b, { line: n, key: 'call', value: name, role: 'parameter' });
      return;
    }
    if (b.callBlock) {
      if (opensCommandBlock(t)) this.openCommandBlocks++;
      else if (this.openCommandBlocks === 0 && isStrayBranch(t)) {
        this.diag('IGNORED_LINE', 'line_ignored', n, `"${t}" has no open block to continue: eventMacro skips the line`, b.name);
        return;
      }
      b.callBlock.lines.push({ line: n, text: t });
      return;
    }
    const m = /^(.*?)\s+(.*)/.exec(t);
    let value = m?.[2];
    if (value !== undefined && /\{\s*$/.test(value)) {
      const captured = this.captureBraces(value);
      if (captured === undefined) {
        this.diag('IGNORED_LINE', 'line_ignored', n, `the "{" of "${clip(t)}" is never balanced: eventMacro skips the entry and reads to the end of the file`, b.name);
        return;
      }
      value = captured;
    }
    if (!m || value === undefined) {
      this.diag('IGNORED_LINE', 'line_ignored', n, `"${clip(t)}" is not a "key value" pair: eventMacro skips the line`, b.name);
      return;
    }
    const key = m[1];
    this.push(b, { line: n, key, value, role: AUTOMACRO_PARAMETERS.has(key) ? 'parameter' : 'condition' });
  }

  /**
   * An automacro value ending in "{" continues until its braces balance (quotes and `#` comments
   * respected, `q{` counted): the lines are read raw, and the line that closes it is dropped.
   */
  private captureBraces(first: string): string | undefined {
    const lines = [first];
    let depth = 1;
    for (let l = this.reader.read(); l; l = this.reader.read()) {
      let inString = false;
      let quote = '';
      let escaped = false;
      for (let i = 0; i < l.raw.length; i++) {
        const c = l.raw[i];
        if (inString) {
          if (c === '\\') escaped = !escaped;
          else if (c === quote && !escaped) inString = false;
          else escaped = false;
        } else if (c === '"' || c === "'") {
          inString = true;
          quote = c;
        } else if (c === '#') break;
        else if (l.raw.startsWith('q{', i)) {
          depth++;
          i++;
        } else if (c === '{') depth++;
        else if (c === '}') depth--;
      }
      if (depth === 0) return `${lines.join('\n')}\n}`;
      lines.push(l.raw);
    }
    return undefined;
  }

  private subLine(b: OpenBlock, n: number, t: string): void {
    const sub = b.sub!;
    if (t === '}') {
      if (sub.depth > 0) {
        sub.perl.push(t);
        sub.depth--;
        return;
      }
      sub.block.code = sub.perl.join('\n');
      this.subs.push(sub.block);
      this.close(n);
      return;
    }
    if (/^}.*?\{$/.test(t) && sub.depth > 0) sub.perl.push(t);
    else if (/\{$/.test(t)) {
      sub.depth++;
      sub.perl.push(t);
    } else if (/^}/.test(t) && sub.depth > 0) {
      sub.depth--;
      sub.perl.push(t);
    } else sub.perl.push(t);
  }

  // ---- helpers

  private newMacro(name: string, n: number): MacroBlock {
    const macro: MacroBlock = { kind: 'macro', name, line: n, endLine: n, text: '', ignored: null, evaluatedByBot: [], lines: [], calls: [] };
    this.macros.push(macro);
    return macro;
  }

  private push(b: OpenBlock, entry: AutomacroEntry): void {
    b.automacro!.entries.push(entry);
    this.automacroSlots.get(b.name)!.pushed++;
  }

  private close(n: number): void {
    this.finishOpen(n);
    this.block = null;
  }

  /** Sets the end line and text of the open block (and of an open call block). */
  private finishOpen(n: number): void {
    const b = this.block!;
    const target = b.macro ?? b.automacro ?? b.sub?.block;
    if (b.callBlock) {
      b.callBlock.endLine = n;
      b.callBlock.text = this.textOf(b.callBlock.line, n);
    }
    if (b.sub && !this.subs.includes(b.sub.block)) b.sub.block.code = b.sub.perl.join('\n');
    if (!target) return;
    target.endLine = n;
    target.text = this.textOf(target.line, n);
  }

  private textOf(from: number, to: number): string {
    const out: string[] = [];
    for (let n = from; n <= to; n++) out.push(this.reader.lineText(n));
    return out.join('\n');
  }

  /** eventMacro ignores every macro whose name was defined twice, and every automacro defined twice with content. */
  private settleDuplicates(): void {
    for (const [name, slot] of this.macroSlots) {
      if (!slot.duplicated) continue;
      const lines = slot.blocks.map((m) => m.line).join(', ');
      for (const m of slot.blocks) m.ignored ??= this.ignoredBy('DUPLICATE_NAME', m, `macro "${name}" is defined more than once (lines ${lines}): eventMacro ignores every definition`);
    }
    for (const [name, slot] of this.automacroSlots) {
      if (slot.blocks.length < 2) continue;
      const lines = slot.blocks.map((a) => a.line).join(', ');
      if (slot.duplicated) {
        for (const a of slot.blocks) a.ignored ??= this.ignoredBy('DUPLICATE_NAME', a, `automacro "${name}" is defined more than once (lines ${lines}): eventMacro ignores every definition`);
        continue;
      }
      // Only empty blocks came before the one with content: eventMacro merges them into it.
      const last = slot.blocks[slot.blocks.length - 1];
      const keep = slot.blocks.find((a) => a.entries.length > 0) ?? last;
      for (const a of slot.blocks) {
        if (a !== keep) a.ignored ??= this.ignoredBy('DUPLICATE_NAME', a, `empty automacro "${name}": eventMacro merges it into the one at line ${keep.line}`);
      }
    }
  }

  private ignoredBy(code: DiagnosticCode, block: Block, message: string): Diagnostic {
    const d: Diagnostic = { severity: 'warning', code, effect: 'block_ignored', line: block.line, message, block: block.name };
    this.diagnostics.push(d);
    return d;
  }

  private diag(code: DiagnosticCode, effect: Effect, line: number, message: string, block?: string): void {
    this.diagnostics.push({ severity: effect === 'file_refused' ? 'error' : 'warning', code, effect, line, message, ...(block !== undefined ? { block } : {}) });
  }
}

export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

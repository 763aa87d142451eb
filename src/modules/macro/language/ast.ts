/**
 * What the engine knows of an eventMacro file: its blocks as eventMacro's own file parser cuts
 * them (eventMacro/FileParser.pm), with 1-based line numbers, and the diagnostics that say what
 * eventMacro does with each part of the file.
 */

export type Severity = 'error' | 'warning';

/**
 * What eventMacro does because of a diagnostic (the engine does the same):
 * - `file_refused`: the whole file fails to load (the only errors: the previous version keeps serving);
 * - `block_ignored`: eventMacro prints an error and drops this macro or automacro, the rest loads;
 * - `line_ignored`: eventMacro prints an error (or nothing) and skips this line;
 * - `stops_macro`: the file loads, but eventMacro stops the macro with an error when it reaches the line;
 * - `advice`: eventMacro says nothing; the engine points at a likely mistake.
 */
export type Effect = 'file_refused' | 'block_ignored' | 'line_ignored' | 'stops_macro' | 'advice';

export type DiagnosticCode =
  // the file's structure and content
  | 'UNBALANCED_BRACES'
  | 'UNKNOWN_CONDITION'
  | 'INCLUDE'
  | 'FILE_TOO_LARGE'
  | 'IGNORED_LINE'
  | 'INVALID_NAME'
  | 'DUPLICATE_NAME'
  | 'NO_CONDITION'
  | 'NO_PARAMETER'
  | 'MISSING_CALL'
  | 'DUPLICATE_PARAMETER'
  | 'INVALID_VALUE'
  | 'INVALID_CONDITION'
  | 'EVENT_CONDITIONS'
  | 'UNDEFINED_MACRO'
  | 'UNKNOWN_AUTOMACRO'
  | 'STATEMENT'
  | 'UNDEFINED_LABEL'
  | 'NOT_DEFINED'
  // a reload that failed for another reason than the content (see Rejection.code)
  | 'LOCK_TIMEOUT'
  | 'PATH'
  | 'IO'
  | 'STORE'
  // advice
  | 'NOT_ADDRESSABLE'
  | 'NOT_A_FUNCTION'
  | 'REGEX'
  | 'CASE_VARIANT';

export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  effect: Effect;
  /** 1-based line in the file (0 when the problem is the file as a whole). */
  line: number;
  message: string;
  /** The block the problem is in, when there is one. */
  block?: string;
  /** The file (relative to MACRO_DIR) when the diagnostic comes from another file than the one checked. */
  file?: string;
}

/** A line as eventMacro keeps it: comment removed, trimmed, runs of spaces collapsed to one. */
export interface SourceLine {
  line: number;
  text: string;
}

export interface BlockBase {
  name: string;
  /** Line of `macro NAME {` / `automacro NAME {` / `sub NAME {`. */
  line: number;
  /** Line of the closing `}` (the last line of the file when it is never closed). */
  endLine: number;
  /** The block's source text, from its header to its closing brace. */
  text: string;
  /** Why eventMacro drops this block (it is parsed, reported, never served); null when it loads. */
  ignored: Diagnostic | null;
  /** What in it only the bot can evaluate (Perl conditions, Perl subs, keywords reading OpenKore's lists). */
  evaluatedByBot: string[];
}

export interface MacroBlock extends BlockBase {
  kind: 'macro';
  /** The body, line by line, as eventMacro's runner reads it. */
  lines: SourceLine[];
  /** Set on the macro eventMacro makes of an automacro's `call { … }`: the automacro's name. */
  callBlockOf?: string;
  /** Literal `call NAME` targets of its lines (filled by the validator). */
  calls: Array<{ line: number; target: string }>;
}

/** A `key value` line of an automacro: a parameter (eventMacro/Data.pm %parameters) or a condition. */
export interface AutomacroEntry {
  line: number;
  key: string;
  value: string;
  role: 'parameter' | 'condition';
}

export interface CallTarget {
  line: number;
  /** The macro called (for `call { … }`, the macro eventMacro names `automacro_<name>_call_block`). */
  target: string;
  /** What follows the name (`call heal 3` → "3"), which eventMacro puts in `@.param`. */
  args: string | null;
  inline: boolean;
}

export interface ConditionInfo {
  line: number;
  /** The condition type (eventMacro/Condition/<key>.pm). */
  key: string;
  value: string;
  /** Triggered by an event rather than a state (at most one per automacro). */
  event: boolean;
  /** Only the bot can evaluate it (Perl). */
  botOnly: boolean;
}

export interface AutomacroBlock extends BlockBase {
  kind: 'automacro';
  entries: AutomacroEntry[];
  call: CallTarget | null;
  /** Parameters by name (timeout, run-once, priority, exclusive, …), as written. */
  options: Record<string, string>;
  /** Its conditions, once the automacro passed eventMacro's checks (empty when it is ignored). */
  conditions: ConditionInfo[];
}

export interface SubBlock extends BlockBase {
  kind: 'sub';
  /** The Perl code: only the bot's eventMacro runs it. */
  code: string;
}

export type Block = MacroBlock | AutomacroBlock;

export interface IncludeRef {
  line: number;
  /** The path as written, relative to the including file's folder. */
  target: string;
  /** `!include_create_if_missing`: eventMacro creates an empty file rather than failing. */
  createIfMissing: boolean;
  /** The block the line sits in (eventMacro reads the included lines into it), or null. */
  insideBlock: string | null;
}

export interface MacroDocument {
  /** Macros and automacros, in file order, ignored ones included (see BlockBase.ignored). */
  blocks: Block[];
  subs: SubBlock[];
  includes: IncludeRef[];
  /** Number of lines of the source. */
  lineCount: number;
  /** What the file parser found (the validator adds the rest). */
  diagnostics: Diagnostic[];
  /** False when a block is never closed: its end is a guess. */
  structureOk: boolean;
}

export function isLoaded(block: Block): boolean {
  return block.ignored === null;
}

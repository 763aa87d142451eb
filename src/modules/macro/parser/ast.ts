/**
 * Syntax tree of an eventMacro file. Every node carries the 1-based line it starts on, so
 * diagnostics and running executions can point at the source.
 */

export type Severity = 'error' | 'warning';

export type DiagnosticCode =
  // errors
  | 'UNBALANCED_BRACES'
  | 'UNKNOWN_KEYWORD'
  | 'UNDEFINED_MACRO'
  | 'DUPLICATE_NAME'
  | 'MISSING_CALL'
  | 'INVALID_NAME'
  | 'INVALID_VALUE'
  | 'SYNTAX'
  | 'UNDEFINED_LABEL'
  | 'FILE_TOO_LARGE'
  // a reload that failed for another reason than the content (see Rejection.code)
  | 'LOCK_TIMEOUT'
  | 'PATH'
  | 'IO'
  | 'STORE'
  // warnings
  | 'FEW_PAUSES'
  | 'ENDLESS_LOOP'
  | 'NO_CONDITION'
  | 'UNKNOWN_AUTOMACRO';

export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  /** 1-based line in the file (0 when the problem is the file as a whole). */
  line: number;
  message: string;
  /** The block the problem is in, when there is one. */
  block?: string;
  /** The file (relative to MACRO_DIR) when the diagnostic comes from another file than the one checked. */
  file?: string;
}

// ---- expressions (conditions of if / while) ----

export type CompareOp = '==' | '!=' | '>' | '<' | '>=' | '<=' | '=~' | '!~';

export type Expr =
  | { kind: 'or'; left: Expr; right: Expr }
  | { kind: 'and'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr }
  | { kind: 'cmp'; op: CompareOp; left: string; right: string; regex?: { source: string; flags: string } }
  | { kind: 'value'; text: string };

// ---- macro statements ----

export interface StatementBase {
  line: number;
}

export type Statement =
  | (StatementBase & { type: 'do'; command: string })
  | (StatementBase & { type: 'pause'; seconds: string | null })
  | (StatementBase & { type: 'log'; message: string })
  | (StatementBase & { type: 'call'; target: string; times: string | null })
  | (StatementBase & { type: 'release'; target: string })
  | (StatementBase & { type: 'lock'; target: string })
  | (StatementBase & { type: 'stop' })
  | (StatementBase & { type: 'set'; key: string; value: string })
  | (StatementBase & { type: 'assign'; variable: string; op: '=' | '++' | '--'; value: string | null })
  | (StatementBase & { type: 'if'; branches: IfBranch[]; endLine: number })
  | (StatementBase & { type: 'while'; condition: Expr; conditionText: string; body: Statement[]; endLine: number })
  | (StatementBase & { type: 'label'; name: string })
  | (StatementBase & { type: 'goto'; label: string });

export interface IfBranch {
  line: number;
  /** null for `else`. */
  condition: Expr | null;
  conditionText: string | null;
  body: Statement[];
  /** `if (cond) goto x` on one line: no braces. */
  inline?: boolean;
}

export type StatementType = Statement['type'];

// ---- automacro conditions ----

export type ConditionKind = 'stat' | 'number' | 'count' | 'maps' | 'location' | 'mobs' | 'item' | 'flag' | 'text' | 'orphan';

export interface Comparison {
  op: '<' | '<=' | '>' | '>=' | '==' | '!=' | 'range';
  value: number;
  /** Upper bound for `a..b`. */
  to?: number;
  percent: boolean;
}

export interface AutomacroCondition {
  line: number;
  /** The keyword as written. */
  keyword: string;
  /** Canonical keyword (e.g. `InMap` for `location`'s map form stays `location`). */
  canonical: string;
  kind: ConditionKind;
  value: string;
  comparison?: Comparison;
  /** Names the condition is about: maps, monsters, an item. */
  names?: string[];
  negated?: boolean;
}

export interface CallTarget {
  line: number;
  /** Name of the macro called, or null for an inline `call { … }` block. */
  target: string | null;
  times: string | null;
  /** Statements of an inline call block. */
  inline?: Statement[];
}

// ---- blocks ----

export interface BlockBase {
  name: string;
  /** Line of `macro NAME {` / `automacro NAME {`. */
  line: number;
  /** Line of the closing `}` (the last line of the file when it is missing). */
  endLine: number;
  /** The block's source text, from its header to its closing brace. */
  text: string;
}

export interface MacroBlock extends BlockBase {
  kind: 'macro';
  body: Statement[];
}

export interface AutomacroBlock extends BlockBase {
  kind: 'automacro';
  conditions: AutomacroCondition[];
  call: CallTarget | null;
  /** Options (timeout, run-once, priority, exclusive, …) by canonical name. */
  options: Record<string, string>;
}

export type Block = MacroBlock | AutomacroBlock;

export interface MacroDocument {
  blocks: Block[];
  /** Number of lines of the source. */
  lineCount: number;
  /** Syntax errors found while parsing (validation adds the semantic ones). */
  diagnostics: Diagnostic[];
  /** False when the block structure itself could not be recovered (unbalanced braces). */
  structureOk: boolean;
}

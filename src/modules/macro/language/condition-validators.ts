import { findVariable, GENERAL_VARIABLE, keyOrIndex, perlSplit, perlTrue, quoteMeta, SCALAR_VARIABLE, ARRAY_VARIABLE, HASH_VARIABLE, UNESCAPED, type VariableRef, WIDER_VARIABLE } from './variables';

/**
 * eventMacro's three value validators (eventMacro/Validator/*.pm), which most condition types
 * parse their value with. Each returns the error eventMacro gives (the automacro is then
 * ignored) or the variables the value reads.
 */
export interface ParseResult {
  error?: string;
  variables: VariableRef[];
}

const NUMBER = String.raw`-?\d+(?:\.\d+)?`;
const NUMERIC = new RegExp(
  String.raw`^\s*(<|<=|=|==|!=|!|>=|>|)\s*(${NUMBER}%?|${WIDER_VARIABLE})(?:\s*\.\.\s*(${NUMBER}%?|${WIDER_VARIABLE}))?\s*$`,
);

export interface NumericComparison {
  op: '==' | '!=' | '<' | '<=' | '>' | '>=';
  min: string;
  max: string;
  minPercent: boolean;
  maxPercent: boolean;
}

/**
 * `< 5`, `>= 50%`, `10..20`, `$var`, `!= $a[1]` (Validator/NumericComparison.pm): an operator
 * (`=` and none mean `==`, `!` means `!=`), a number (optionally a percentage) or a variable, and
 * an optional `..` upper bound. A variable that does not resolve is kept as literal text (no error).
 */
export function parseNumeric(text: string): ParseResult & { comparison?: NumericComparison } {
  const m = NUMERIC.exec(text);
  if (!m) return { error: 'There were found no numeric comparison in the condition code', variables: [] };
  const variables: VariableRef[] = [];
  const bound = (s: string) => {
    const v = findVariable(s);
    if (v) {
      if (!variables.some((x) => x.display === v.display)) variables.push(v);
      return { value: s, percent: false };
    }
    return s.endsWith('%') ? { value: s.slice(0, -1), percent: true } : { value: s, percent: false };
  };
  const op = m[1] === '' || m[1] === '=' ? '==' : m[1] === '!' ? '!=' : (m[1] as NumericComparison['op']);
  const min = bound(m[2]);
  const max = m[3] === undefined ? min : bound(m[3]);
  return { variables, comparison: { op, min: min.value, max: max.value, minPercent: min.percent, maxPercent: max.percent } };
}

/** `Poring, $target, any` (Validator/ListMemberCheck.pm): members separated by commas, none empty or "0"; `any` alone. */
export function parseList(text: string): ParseResult & { members?: string[] } {
  const members = perlSplit(text, /\s*,\s*/);
  const variables: VariableRef[] = [];
  let any = false;
  for (const member of members) {
    if (!perlTrue(member)) return { error: 'A list member is undefined (empty)', variables: [] };
    const v = findVariable(member);
    if (v) {
      if (!variables.some((x) => x.display === v.display)) variables.push(v);
    } else if (/^any$/i.test(member)) any = true;
  }
  if (any && members.length > 1) return { error: "If 'any' is member of the list there should be no other list members", variables: [] };
  return { variables, members };
}

/** The first accessed element (`$a[…]`, `$h{…}`) of `text` (Validator/RegexCheck.pm get_accessed_var). */
function accessedVariable(text: string): string | undefined {
  const m = new RegExp(String.raw`${UNESCAPED}\$(\.?[a-zA-Z][a-zA-Z\d_]*)(\[|\{)(.+)$`, 's').exec(text);
  if (!m) return undefined;
  const close = m[2] === '[' ? ']' : '}';
  const key = keyOrIndex(m[2], close, m[3]);
  if (key === undefined || key === '') return undefined;
  return `$${m[1]}${m[2]}${key}${close}`;
}

const ANY_VARIABLE = new RegExp(`${UNESCAPED}${GENERAL_VARIABLE}`);
const PLAIN_VARIABLE = new RegExp(`${UNESCAPED}(${SCALAR_VARIABLE}|${ARRAY_VARIABLE}|${HASH_VARIABLE})`);

export interface RegexValue {
  source: string;
  /** eventMacro takes any one word character after the closing slash as "case-insensitive". */
  caseInsensitive: boolean;
}

/**
 * `/pattern/` or `/pattern/i` (Validator/RegexCheck.pm). Variables inside the pattern are
 * interpolated when they are set; one that eventMacro cannot resolve is an error. The pattern
 * itself is compiled by Perl only when the condition is checked.
 */
export function parseRegex(text: string): ParseResult & { regex?: RegexValue } {
  const m = /^\/(.*?)\/(\w?)$/.exec(text);
  if (!m) return { error: 'There were found no regex in the condition code', variables: [] };
  const names: string[] = [];
  let remaining = m[1];
  while (ANY_VARIABLE.test(remaining)) {
    const accessed = accessedVariable(remaining);
    const name = accessed ?? findVariable(PLAIN_VARIABLE.exec(remaining)?.[1] ?? '')?.display;
    if (name === undefined) break;
    names.push(name);
    const cut = new RegExp(`^(.*?)${UNESCAPED}${quoteMeta(name)}(.*?)$`).exec(remaining);
    if (!cut) return { error: 'Could not find detected variable in code', variables: [] };
    remaining = cut[1] + cut[2];
  }
  const variables: VariableRef[] = [];
  for (const name of names) {
    const v = findVariable(name);
    if (!v) return { error: `"${name}" in the regex is not a variable eventMacro can resolve`, variables: [] };
    if (!variables.some((x) => x.display === v.display)) variables.push(v);
  }
  return { variables, regex: { source: m[1], caseInsensitive: m[2] !== '' } };
}

/** Whether JavaScript can compile a regex eventMacro would compile in Perl (a hint only: the dialects differ). */
export function compilesAsRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export { quoteMeta };

/**
 * eventMacro's variable forms (eventMacro/Data.pm, eventMacro/Utilities.pm find_variable):
 * `$scalar`, `@array`, `%hash`, `$array[index]`, `$hash{key}`, where an index or a key may itself be
 * a variable (`$a[$i]`, `$h{$a[$b]}`), and the read-only special variables that start with a dot
 * (`$.map`, `@.param`). A name is a letter followed by letters, digits and `_`.
 */

const NAME = String.raw`\.?[a-zA-Z][a-zA-Z\d_]*`;

/** Any variable as eventMacro's `$general_variable_qr` sees it (literal index / key only). */
export const GENERAL_VARIABLE = String.raw`(?:\$${NAME}(?:\[\d+\]|\{[a-zA-Z\d_]+\})?|@${NAME}|%${NAME})`;
/** The wider form (`$general_wider_variable_qr`): any text between the brackets. */
export const WIDER_VARIABLE = String.raw`(?:\$${NAME}(?:\[.+?\]|\{.+?\})?|@${NAME}|%${NAME})`;
export const SCALAR_VARIABLE = String.raw`\$${NAME}`;
export const ARRAY_VARIABLE = String.raw`@${NAME}`;
export const HASH_VARIABLE = String.raw`%${NAME}`;
/** Not preceded by a backslash (eventMacro's `(?:^|(?<=[^\\]))`). */
export const UNESCAPED = String.raw`(?:^|(?<=[^\\]))`;

export type VariableType = 'scalar' | 'array' | 'hash' | 'accessed_array' | 'accessed_hash';

export interface VariableRef {
  /** As written: `$a`, `@list`, `$h{$k}`. */
  display: string;
  type: VariableType;
  /** The name without sigil (and without the index / key). */
  name: string;
  /** Index or key text of an accessed element (may be a variable). */
  complement?: string;
}

const SCALAR_ONLY = new RegExp(`^(${SCALAR_VARIABLE})$`);
const ARRAY_ONLY = new RegExp(`^(${ARRAY_VARIABLE})$`);
const HASH_ONLY = new RegExp(`^(${HASH_VARIABLE})$`);
const ACCESSED = new RegExp(String.raw`^\$(${NAME})(\[|\{)(.+)(\]|\})`);

/**
 * The variable `text` is, whole, or undefined (Utilities.pm find_variable). An accessed element
 * needs a numeric index (array) or a word key (hash), unless the index / key is a variable.
 */
export function findVariable(text: string): VariableRef | undefined {
  let m = SCALAR_ONLY.exec(text);
  if (m) return { display: m[1], type: 'scalar', name: m[1].slice(1) };
  m = ARRAY_ONLY.exec(text);
  if (m) return { display: m[1], type: 'array', name: m[1].slice(1) };
  m = HASH_ONLY.exec(text);
  if (m) return { display: m[1], type: 'hash', name: m[1].slice(1) };
  m = ACCESSED.exec(text);
  if (!m) return undefined;
  const [, name, open, complement, close] = m;
  if (complement === '' || (open === '[' ? ']' : '}') !== close) return undefined;
  if (open === '[' && !/^\d+$/.test(complement) && !findVariable(complement)) return undefined;
  if (open === '{' && !/^[a-zA-Z\d_]+$/.test(complement) && !findVariable(complement)) return undefined;
  return { display: `$${name}${open}${complement}${close}`, type: open === '[' ? 'accessed_array' : 'accessed_hash', name, complement };
}

/**
 * The text between `open` and its matching `close` at the start of `code` (which begins just
 * after the opening bracket), or undefined when it is never closed (Utilities.pm get_key_or_index).
 */
export function keyOrIndex(open: string, close: string, code: string): string | undefined {
  let depth = 0;
  let out = '';
  for (const c of code) {
    if (c === open) depth++;
    else if (c === close) {
      if (depth === 0) return out;
      depth--;
    }
    out += c;
  }
  return undefined;
}

export function isSpecialVariable(ref: VariableRef): boolean {
  return ref.name.startsWith('.');
}

/**
 * Perl's `split(/re/, text)`: like String.split, except that trailing empty fields are dropped
 * (eventMacro splits condition lists this way: `a, b,` has two members, `,a` an empty first one).
 */
export function perlSplit(text: string, re: RegExp): string[] {
  if (text === '') return [];
  const parts = text.split(re);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Perl truthiness of a string: '' and '0' are false. */
export function perlTrue(s: string | undefined): boolean {
  return s !== undefined && s !== '' && s !== '0';
}

/** Escapes text for use inside a RegExp. */
export function quoteMeta(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

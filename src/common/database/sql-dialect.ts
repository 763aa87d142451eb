/**
 * The engine's SQL is written once, with `?` placeholders (SQLite's); PostgreSQL numbers its
 * parameters. This is the one place that translates: every `?` outside string literals, quoted
 * identifiers and comments becomes `$1`, `$2`, … in order.
 */
export function toNumberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  const len = sql.length;
  while (i < len) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // A literal or quoted identifier: a doubled quote inside it is an escaped quote.
      let j = i + 1;
      for (;;) {
        if (j >= len) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end === -1 ? len : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const j = end === -1 ? len : end + 2;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '?') {
      n += 1;
      out += `$${n}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

const translated = new Map<string, string>();

/** The same, remembered per statement text (statements are written in code: a bounded set). */
export function numbered(sql: string): string {
  let out = translated.get(sql);
  if (out === undefined) {
    out = toNumberedPlaceholders(sql);
    if (translated.size < 2000) translated.set(sql, out);
  }
  return out;
}

import fc from 'fast-check';
import { numbered, toNumberedPlaceholders } from './sql-dialect';

describe('toNumberedPlaceholders', () => {
  it('numbers every ? in order', () => {
    expect(toNumberedPlaceholders('UPDATE t SET a = ?, b = ? WHERE id = ? AND v IN (?, ?)')).toBe('UPDATE t SET a = $1, b = $2 WHERE id = $3 AND v IN ($4, $5)');
    expect(toNumberedPlaceholders('SELECT 1')).toBe('SELECT 1');
  });

  it('leaves a ? inside a string literal, a quoted identifier or a comment alone', () => {
    expect(toNumberedPlaceholders(`SELECT '?', 'it''s ?', "we?ird" FROM t WHERE a = ? -- why?\n AND b = ? /* ? */ AND c = ?`)).toBe(
      `SELECT '?', 'it''s ?', "we?ird" FROM t WHERE a = $1 -- why?\n AND b = $2 /* ? */ AND c = $3`,
    );
  });

  it('keeps an unterminated literal or comment as it is (the server reports the syntax error)', () => {
    expect(toNumberedPlaceholders(`SELECT ? , 'open ?`)).toBe(`SELECT $1 , 'open ?`);
    expect(toNumberedPlaceholders(`SELECT ? /* open ?`)).toBe(`SELECT $1 /* open ?`);
  });

  it('changes nothing but the placeholders: removing the numbers gives the input back', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('?', "'", '"', '-', '/', '*', '\n', 'a', ' ')).map((a) => a.join('')), (sql) => {
        const out = toNumberedPlaceholders(sql);
        let k = 0;
        // Every $n is numbered 1, 2, 3… in order; put the ? back and we have the input.
        const back = out.replace(/\$(\d+)/g, (_m, d: string) => {
          k += 1;
          expect(Number(d)).toBe(k);
          return '?';
        });
        expect(back).toBe(sql);
      }),
    );
  });

  it('remembers a translation', () => {
    const sql = 'DELETE FROM t WHERE id = ?';
    expect(numbered(sql)).toBe('DELETE FROM t WHERE id = $1');
    expect(numbered(sql)).toBe('DELETE FROM t WHERE id = $1');
  });
});

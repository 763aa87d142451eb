import { findVariable, GENERAL_VARIABLE, keyOrIndex, perlSplit } from './variables';

describe('eventMacro variable forms (Utilities.pm find_variable, Data.pm regexes)', () => {
  it('finds scalars, arrays, hashes and their elements, special variables included', () => {
    expect(findVariable('$gold')).toEqual({ display: '$gold', type: 'scalar', name: 'gold' });
    expect(findVariable('@loot')).toEqual({ display: '@loot', type: 'array', name: 'loot' });
    expect(findVariable('%prices')).toEqual({ display: '%prices', type: 'hash', name: 'prices' });
    expect(findVariable('$loot[3]')).toEqual({ display: '$loot[3]', type: 'accessed_array', name: 'loot', complement: '3' });
    expect(findVariable('$prices{Jellopy}')).toEqual({ display: '$prices{Jellopy}', type: 'accessed_hash', name: 'prices', complement: 'Jellopy' });
    expect(findVariable('$.map')).toEqual({ display: '$.map', type: 'scalar', name: '.map' });
    expect(findVariable('$.param[0]')).toMatchObject({ type: 'accessed_array', name: '.param', complement: '0' });
    expect(findVariable('$with_underscore2')).toMatchObject({ type: 'scalar', name: 'with_underscore2' });
  });

  it('resolves indexes and keys that are variables, to any depth', () => {
    expect(findVariable('$prices{$item}')).toMatchObject({ type: 'accessed_hash', complement: '$item' });
    expect(findVariable('$a[$b{$c[$d]}]')).toMatchObject({ type: 'accessed_array', name: 'a', complement: '$b{$c[$d]}' });
  });

  it('refuses what is not one variable', () => {
    for (const text of ['gold', '$gold is 5', '\\$gold', '$loot[x]', '$prices{}', '$loot[]', '$1abc', '%h{k}', '@a[1]', '$a[$b[x]]', '$a[1}']) {
      expect({ text, found: findVariable(text) }).toEqual({ text, found: undefined });
    }
  });

  it('matches the general pattern only with a literal index or key', () => {
    const whole = new RegExp(`^${GENERAL_VARIABLE}$`);
    expect(['$a', '@a', '%a', '$a[10]', '$a{k_1}'].every((v) => whole.test(v))).toBe(true);
    expect(['$a[x]', '%a{k}', '@a[1]', '$a{$k}'].some((v) => whole.test(v))).toBe(false);
  });

  it('reads a bracketed key up to its matching bracket, or nothing when it never closes', () => {
    expect(keyOrIndex('[', ']', '$b[1]] rest')).toBe('$b[1]');
    expect(keyOrIndex('{', '}', 'k}')).toBe('k');
    expect(keyOrIndex('[', ']', 'never closed')).toBeUndefined();
  });

  it("splits like Perl's split: trailing empty fields dropped, leading ones kept", () => {
    expect(perlSplit('a, b,', /\s*,\s*/)).toEqual(['a', 'b']);
    expect(perlSplit(',a', /\s*,\s*/)).toEqual(['', 'a']);
    expect(perlSplit('a,,b', /\s*,\s*/)).toEqual(['a', '', 'b']);
    expect(perlSplit('', /,/)).toEqual([]);
  });
});

import { compare, ConditionError, conditionProblem, evaluateGroups, perlNumber, scanCondition } from './condition-text';

/** Evaluates `if (…)`-style text with operands read from `vars` (unset: empty). */
function holds(text: string, vars: Record<string, string> = {}, isSub = (_: string) => false): boolean {
  const { groups } = scanCondition(text, isSub);
  return evaluateGroups(groups, (operand) => operand.replace(/\$(\w+)/g, (_, n: string) => vars[n] ?? ''));
}

describe('eventMacro conditions (Runner.pm parse_and_check_condition_text, Utilities.pm cmpr)', () => {
  it('compares numbers numerically, with = and == the same', () => {
    expect(holds('(3 > 1)')).toBe(true);
    expect(holds('(4 > 9)')).toBe(false);
    expect(holds('(7 = 7)')).toBe(true);
    expect(holds('(7 == 8)')).toBe(false);
    expect(holds('(2 <= 2)')).toBe(true);
    expect(holds('(2 >= 3)')).toBe(false);
    expect(holds('(5 != 4)')).toBe(true);
    expect(holds('(10 < 9.5)')).toBe(false);
  });

  it('takes a range on either side, for equality or inequality', () => {
    expect(holds('(4 == 1..5)')).toBe(true);
    expect(holds('(9 == 1..5)')).toBe(false);
    expect(holds('(1..5 != 9)')).toBe(true);
    expect(holds('(1..5 == 3)')).toBe(true);
    // A range with any other operator is an error.
    expect(() => holds('(4 > 1..5)')).toThrow(ConditionError);
  });

  it('compares text with == and !=, list membership with ~ (case-insensitive), regexes with =~', () => {
    expect(holds('(Poring == Poring)')).toBe(true);
    expect(holds('(Poring != Drops)')).toBe(true);
    expect(holds('(poring ~ Drops, PORING, Lunatic)')).toBe(true);
    expect(holds('(Fabre ~ Drops, Poring)')).toBe(false);
    expect(holds('(Poring =~ /^Por/)')).toBe(true);
    expect(holds('(Poring =~ /^por/)')).toBe(false);
    expect(holds('(Poring =~ /^por/i)')).toBe(true);
    // Text with an ordering operator is simply false.
    expect(holds('(abc > abb)')).toBe(false);
  });

  it('reads a lone operand by its number: a word is false, 0 is false', () => {
    expect(holds('($x)', { x: '2' })).toBe(true);
    expect(holds('($x)', { x: 'yes' })).toBe(false);
    expect(holds('($x)', { x: '0' })).toBe(false);
    expect(holds('(!$x)', { x: '' })).toBe(true);
  });

  it('combines with && or || inside a group, and groups with parentheses; never && and || in one group', () => {
    expect(holds('($a > 1 && $b > 1)', { a: '2', b: '2' })).toBe(true);
    expect(holds('($a > 1 && $b > 1)', { a: '2', b: '0' })).toBe(false);
    expect(holds('($a > 1 || $b > 1)', { a: '0', b: '2' })).toBe(true);
    expect(holds('(($a > 1 && $b > 1) || $c == 1)', { a: '0', b: '0', c: '1' })).toBe(true);
    expect(() => holds('($a > 1 && $b > 1 || $c)')).toThrow('Wrong Conditions');
  });

  it('unquotes operands, so text with blanks or operators can be compared', () => {
    expect(holds('("$n" == "Red Potion")', { n: 'Red Potion' })).toBe(true);
  });

  it('takes the text after the condition, skipping one character after ")" as eventMacro does', () => {
    expect(scanCondition('if ($x) {', () => false).after).toBe('{');
    expect(scanCondition('if ($x) goto end', () => false).after).toBe('goto end');
    expect(scanCondition('if ($x){', () => false).after).toBe('');
  });

  it('rejects what its parser rejects, whatever the variables hold', () => {
    const problem = (t: string) => conditionProblem(t, () => false);
    expect(problem('($a > 1 & $b)')).toMatch(/unsupported '&'/);
    expect(problem('($a > 1 | $b)')).toMatch(/unsupported '\|'/);
    expect(problem('($a > 1')).toMatch(/unclosed parenthesis/);
    expect(problem('(($a > 1)))')).toBeUndefined(); // reading stops at the parenthesis that closes the first one
    expect(problem(') ($a > 1)')).toMatch(/too many closing/);
    expect(problem('("open)')).toMatch(/unclosed quote/);
    expect(problem('($a =~ /open)')).toMatch(/unclosed regex/);
    expect(problem('(&nosuch(1) > 0)')).toMatch(/unknown macro_keyword '&nosuch'/);
    expect(problem('(mysub(1) > 0)')).toMatch(/unknown sub 'mysub'/);
    expect(conditionProblem('(mysub(1) > 0)', (n) => n === 'mysub')).toBeUndefined();
    expect(problem('($a >)')).toMatch(/Last argument/);
    expect(problem('(> 1)')).toMatch(/not expected '>'/);
    expect(problem('()')).toMatch(/is empty/);
    expect(problem('(&rand(1, 2) == 1)')).toBeUndefined();
  });

  it('reads numbers as Perl does', () => {
    expect(perlNumber('12abc')).toBe(12);
    expect(perlNumber(' -3.5')).toBe(-3.5);
    expect(perlNumber('abc')).toBe(0);
    expect(compare('1.0', '==', '1')).toBe(true);
    expect(compare('1.2.3', '==', '1.2')).toBe(true);
  });

  it('records the captures of a regex match', () => {
    const seen: string[][] = [];
    const { groups } = scanCondition('($x =~ /(\\d+) zeny/)', () => false);
    expect(evaluateGroups(groups, (o) => (o === '$x' ? 'paid 150 zeny' : o), (c) => seen.push(c))).toBe(true);
    expect(seen).toEqual([['150']]);
  });
});

import { constantCondition, EvaluationError, evalArithmetic, evaluateCondition, interpolate } from './evaluate';
import { parseExpression } from './expression';

const vars: Record<string, string> = { x: '5', name: 'Poring', '.map': 'prt_fild08', '.hp': '300', empty: '' };
const lookup = (n: string) => vars[n];
const cond = (text: string) => evaluateCondition(parseExpression(text), lookup);

describe('interpolation', () => {
  it('expands $var, ${var}, $.system, escapes, and unset variables to nothing', () => {
    expect(interpolate('move $x ${x}0 on $.map', lookup)).toBe('move 5 50 on prt_fild08');
    expect(interpolate('cost \\$5 for $missing!', lookup)).toBe('cost $5 for !');
    expect(interpolate('@eval($x * 2 + 1) @eval(($.hp - 100) / 4)', lookup)).toBe('11 50');
    expect(interpolate('@rand(1, 3)', lookup, () => 0.99)).toBe('3');
    expect(interpolate('@random("a", "b")', lookup, () => 0)).toBe('a');
  });

  it('evaluates arithmetic only: anything else is an error, never code', () => {
    expect(evalArithmetic('-(2 + 3) * 4 % 7')).toBe(-6);
    expect(() => evalArithmetic('process.exit(1)')).toThrow(EvaluationError);
    expect(() => evalArithmetic('1 / 0')).toThrow('division by zero');
    expect(() => interpolate('@eval(1 +', lookup)).toThrow(EvaluationError);
  });
});

describe('conditions', () => {
  it('compares numbers numerically and text as text', () => {
    expect(cond('$x > 4')).toBe(true);
    expect(cond('$x >= 10')).toBe(false);
    expect(cond('$x = 5')).toBe(true);
    expect(cond('$name == Poring')).toBe(true);
    expect(cond('$name != "Poring"')).toBe(false);
    expect(cond('$.hp < 301 && $.map == prt_fild08')).toBe(true);
    expect(cond('$x < 1 || !($name == Drops)')).toBe(true);
    expect(cond('$name =~ /^por/i')).toBe(true);
    expect(cond('$name !~ /ring$/')).toBe(false);
    expect(cond('$empty')).toBe(false);
    expect(cond('$x')).toBe(true);
  });

  it('knows which conditions are constant', () => {
    expect(constantCondition(parseExpression('1'))).toBe(true);
    expect(constantCondition(parseExpression('1 == 2'))).toBe(false);
    expect(constantCondition(parseExpression('$x < 3'))).toBeUndefined();
    expect(constantCondition(parseExpression('@eval(1) == 1'))).toBeUndefined();
  });

  it('refuses malformed conditions', () => {
    for (const bad of ['$x >', '== 1', '($x > 1', '$x > 1)', '$x =~ abc', '$x =~ /[/', '"open']) {
      expect(() => parseExpression(bad)).toThrow();
    }
  });
});

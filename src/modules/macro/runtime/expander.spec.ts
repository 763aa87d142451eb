import { BOT_ONLY, evalArithmetic, Expander, MacroStopError, NeedsBotError } from './expander';
import { VariableStore } from './variable-store';

function expander(opts: { subs?: string[]; inventory?: Array<{ id: number; name?: string; amount?: number }>; special?: Record<string, string | typeof BOT_ONLY> } = {}) {
  const vars = new VariableStore();
  const ex = new Expander({
    vars,
    special: (n) => opts.special?.[n],
    isSub: (n) => opts.subs?.includes(n) ?? false,
    inventory: () => opts.inventory,
    random: () => 0,
  });
  return { ex, vars };
}

describe('eventMacro text expansion (Runner.pm parse_command)', () => {
  it('expands scalars; an unset one is empty', () => {
    const { ex, vars } = expander();
    vars.setScalar('gold', '300');
    vars.setScalar('fee', '25');
    expect(ex.expand('$gold - $fee')).toBe('300 - 25');
    expect(ex.expand('$nothing + $fee')).toBe(' + 25');
    vars.setScalar('gold', 'undef');
    expect(ex.expand('gold: $gold')).toBe('gold: ');
  });

  it('reads an array or a hash as its size, and elements by index or key (undef elements count but read empty)', () => {
    const { ex, vars } = expander();
    vars.setArray('mobs', ['Fabre', 'undef', 'Pupa', 'Creamy']);
    vars.setHash('price', [['Jellopy', '3'], ['Fluff', 'undef'], ['Shell', '7']]);
    expect(ex.expand('@mobs mobs, %price prices')).toBe('4 mobs, 3 prices');
    expect(ex.expand('$mobs[0] and $mobs[1] then $mobs[2]')).toBe('Fabre and  then Pupa');
    expect(ex.expand('a jellopy costs $price{Jellopy}, fluff $price{Fluff}')).toBe('a jellopy costs 3, fluff ');
  });

  it('follows nested indexes and keys', () => {
    const { ex, vars } = expander();
    vars.setArray('order', ['Shell', 'Jellopy']);
    vars.setHash('next', [['Shell', 'Jellopy'], ['Jellopy', 'Shell']]);
    vars.setScalar('i', '1');
    expect(ex.expand('$next{$order[$i]}')).toBe('Shell');
    expect(ex.expand('$next{$next{$next{$order[0]}}}')).toBe('Jellopy');
    expect(ex.expand('[{{$next{$order[$i]}}}]')).toBe('[{{Shell}}]');
  });

  it('runs &push/&unshift/&pop/&shift, &exists/&delete, &defined on the variables', () => {
    const { ex, vars } = expander();
    vars.setArray('bag', ['a', 'b']);
    expect(ex.expand('$other[2] &push(@bag, c) $bag[2] @bag')).toBe(' 3 c 3');
    expect(ex.expand('&unshift(@bag, z)')).toBe('4');
    expect(ex.expand('&pop(@bag) &shift(@bag) @bag')).toBe('c z 2');
    vars.setHash('h', [['k', '1'], ['u', 'undef']]);
    expect(ex.expand('&exists($h{k}) &exists($h{u}) &exists($h{none})')).toBe('1 1 0');
    expect(ex.expand('&defined($h{k}) &defined($h{u})')).toBe('1 0');
    expect(ex.expand('&delete($h{k}) %h')).toBe('1 1');
    expect(() => ex.expand('&push(bag, x)')).toThrow(MacroStopError);
  });

  it('computes the keywords it can, innermost first', () => {
    const { ex, vars } = expander({ inventory: [{ id: 501, name: 'Red Potion', amount: 7 }, { id: 501, name: 'Red Potion', amount: 3 }] });
    vars.setScalar('n', '4');
    expect(ex.expand('&eval($n * (2 + 1)) &eval(7 / 2) &eval(1 > 2) &eval(2 > 1)')).toBe('12 3.5  1');
    expect(ex.expand('&rand(3, 9) &random("red", "blue")')).toBe('3 red');
    expect(ex.expand('&arg("go to the city", 3) &strip((a)(b)) &nick(A B)')).toBe('the ab A\\ B');
    expect(ex.expand('&split(",", "x,y,z")')).toBe('x,y,z');
    expect(ex.expand('&invamount(red potion) &invamount(501)')).toBe('10 10');
    expect(ex.expand('&eval(&eval(1 + 1) * 3)')).toBe('6');
  });

  it('leaves a keyword eventMacro does not act on as it is, variables included', () => {
    const { ex, vars } = expander();
    vars.setScalar('x', '1');
    expect(ex.expand('&listlength(@a) $x')).toBe('&listlength(@a) $x');
    expect(ex.expand('&RAND(1, 2) $x')).toBe('&RAND(1, 2) $x');
  });

  it('needs the bot for OpenKore lists, config, Perl and special variables the state lacks; a do command keeps them as written', () => {
    const { ex } = expander({ subs: ['mysub'], special: { '.map': 'prontera', '.cartweight': BOT_ONLY } });
    expect(() => ex.expand('&config(attackAuto)')).toThrow(NeedsBotError);
    expect(() => ex.expand('mysub(1)')).toThrow(NeedsBotError);
    expect(() => ex.expand('&eval(print 1)')).toThrow(NeedsBotError);
    expect(() => ex.expand('$.cartweight')).toThrow(NeedsBotError);
    expect(ex.expandVerbatim('storage add &inventory(Jellopy) on $.map, cart at $.cartweight, mysub(2)')).toEqual({
      text: 'storage add &inventory(Jellopy) on prontera, cart at $.cartweight, mysub(2)',
      unevaluated: ['&inventory(Jellopy)', 'mysub(2)', '$.cartweight'],
    });
  });

  it('stops on a word followed by parentheses that no sub defines', () => {
    const { ex } = expander();
    expect(() => ex.expand('Healing (50%)')).toThrow('Unrecognized --> Healing <-- Sub-Routine');
    expect(ex.expand('no call ( here')).toBe('no call ( here');
  });

  it('keeps an escaped variable as written', () => {
    const { ex, vars } = expander();
    vars.setScalar('x', '1');
    expect(ex.expand('cost \\$x is $x')).toBe('cost $x is 1');
  });

  it('prints numbers as Perl does', () => {
    expect(evalArithmetic('0.1 + 0.2')).toBe('0.3');
    expect(evalArithmetic('10 % 3')).toBe('1');
    expect(evalArithmetic('2 ** 10')).toBe('1024');
    expect(() => evalArithmetic('1 / 0')).toThrow(MacroStopError);
  });
});

import type { Action } from '../../decision';
import { validateMacroSource } from '../language/validator';
import type { Catalog, MacroEntry } from '../registry/catalog';
import { Execution, RuntimeError } from './execution';
import { Expander } from './expander';
import { Interpreter } from './interpreter';
import { systemVariable } from './system-variables';
import { VariableStore } from './variable-store';

function catalogOf(source: string): Catalog {
  const r = validateMacroSource(source);
  expect(r.errors).toEqual([]);
  const macros = new Map<string, MacroEntry>();
  const automacros = new Map<string, MacroEntry>();
  for (const b of r.document.blocks) {
    if (b.ignored) continue;
    const entry: MacroEntry = { kind: b.kind, name: b.name, version: 1, hash: '', content: b.text, block: b, file: 't.txt', line: b.line, loadedAt: 0, retiring: false };
    (b.kind === 'macro' ? macros : automacros).set(b.name, entry);
  }
  return { macros, automacros, generation: 1 };
}

/** Runs `name` of `source` with a host that records what the macro sends, sleeps and logs. */
async function run(source: string, name = 'm', setup: (vars: VariableStore) => void = () => undefined) {
  const catalog = catalogOf(source);
  const exec = new Execution('s1', name, {});
  const vars = new VariableStore();
  setup(vars);
  const sent: Action[] = [];
  const slept: number[] = [];
  const expander = new Expander({
    vars,
    special: (n) => systemVariable(n, { character: { name: 'Knight1', level: 50, hp: 300, max_hp: 1000, sp: 10, max_sp: 100, position: { map: 'prontera', x: 150, y: 180 } } }),
    isSub: (n) => n === 'perlsub',
    inventory: () => undefined,
    random: () => 0,
  });
  const interpreter = new Interpreter(exec, catalog, expander, { send: async (_, a) => void sent.push(a), sleep: async (_, ms) => void slept.push(ms) }, {
    maxSteps: 10_000,
    maxCallDepth: 8,
    maxPauseSeconds: 3600,
  });
  let error: RuntimeError | undefined;
  try {
    await interpreter.run(catalog.macros.get(name)!);
  } catch (err) {
    if (!(err instanceof RuntimeError)) throw err;
    error = err;
  }
  return { log: exec.log, sent: sent.map((a) => a.params.command), actions: sent, slept, vars, error };
}

const m = (...lines: string[]) => `macro m {\n${lines.map((l) => `    ${l}`).join('\n')}\n}\n`;

describe('the macro runner (eventMacro/Runner.pm, line by line)', () => {
  it('takes the first true branch of if / elsif / else, and skips the others', async () => {
    const body = (x: string) => m(`$x = ${x}`, 'if ($x > 5) {', 'log big', '} elsif ($x > 1) {', 'log medium', '} else {', 'log small', '}', 'log end');
    expect((await run(body('9'))).log).toEqual(['big', 'end']);
    expect((await run(body('3'))).log).toEqual(['medium', 'end']);
    expect((await run(body('0'))).log).toEqual(['small', 'end']);
  });

  it('nests blocks, and runs one-line and postfix ifs', async () => {
    const r = await run(m('$a = 1', 'if ($a == 1) {', 'if ($a != 2) {', 'log inner', '}', 'log outer', '}', 'if ($a == 1) log one-line', 'log postfix if ($a == 1)', 'log skipped if ($a == 2)'));
    expect(r.log).toEqual(['inner', 'outer', 'one-line', 'postfix']);
  });

  it('loops with while, jumps with goto, and reads && / || / ! and parentheses', async () => {
    const r = await run(m('$i = 0', 'while ($i < 3) {', '$i++', '}', ':again', '$j++', 'if ($j < 2) goto again', 'if (($i == 3 && $j == 2) || $k) {', 'log ok $i $j', '}', 'if (!$k) log not'));
    expect(r.log).toEqual(['ok 3 2', 'not']);
  });

  it('skips a while whose condition is false at once', async () => {
    expect((await run(m('while (0 > 1) {', 'log never', '}', 'log after'))).log).toEqual(['after']);
  });

  it('runs the matching case of a switch, an inline case command, or else', async () => {
    const body = (c: string) =>
      m(`$class = ${c}`, 'switch ($class) {', 'case (== Knight) {', 'log knight', '}', 'case (~ Priest, Monk) log holy', 'else {', 'log other', '}', '}', 'log end');
    expect((await run(body('Knight'))).log).toEqual(['knight', 'end']);
    expect((await run(body('Monk'))).log).toEqual(['holy', 'end']);
    expect((await run(body('Archer'))).log).toEqual(['other', 'end']);
  });

  it('sends do commands one at a time and waits macro_delay after each, except inside [ ]', async () => {
    const r = await run(m('do sit', 'set macro_delay 2', 'do stand', '[', 'do sit', 'do stand', ']', 'pause 1.5'));
    expect(r.sent).toEqual(['sit', 'stand', 'sit', 'stand']);
    expect(r.slept).toEqual([2000, 1500]);
  });

  it('repeats the macro with "set repeat" (which runs again on each repetition, as in eventMacro)', async () => {
    expect((await run(m('if (&defined($n) == 0) set repeat 3', '$n++', 'log $n'))).log).toEqual(['1', '2', '3']);
    // Set unconditionally, it sets the count again every time: the macro never ends (here: the step bound).
    expect((await run(m('set repeat 2', 'log x'))).error?.message).toMatch(/runaway/);
  });

  it('calls a macro once with its arguments in @.param; stop ends only the macro it is in', async () => {
    const src = `${m('call other 5 "two words"', 'log back $.param[1]')}macro other {\n    log in $.param[0]\n    stop\n    log never\n}\n`;
    expect((await run(src)).log).toEqual(['in 5', 'back two words']);
  });

  it('keeps regex captures in $.lastMatchN', async () => {
    expect((await run(m('$s = paid 150 zeny', 'if ($s =~ /(\\d+) zeny/) log got $.lastMatch1'))).log).toEqual(['got 150']);
  });

  it('reads special variables from the game state', async () => {
    expect((await run(m('log $.name on $.map at $.pos with $.hp'))).log).toEqual(['Knight1 on prontera at 150 180 with 300']);
  });

  it('sends what only the bot can evaluate inside a do as written, and lists it', async () => {
    const r = await run(m('do storage add &inventory(Jellopy) 10'));
    expect(r.actions[0].params).toMatchObject({ command: 'storage add &inventory(Jellopy) 10', unevaluated: ['&inventory(Jellopy)'] });
  });

  it('fails with NEEDS_BOT where only the bot can decide', async () => {
    expect((await run(m('log a', 'if (&config(attackAuto) == 2) log b'))).error).toMatchObject({ code: 'NEEDS_BOT', line: 3 });
    expect((await run(m('perlsub(1)'))).error).toMatchObject({ code: 'NEEDS_BOT', line: 2 });
    expect((await run(m('include on extra'))).error).toMatchObject({ code: 'NEEDS_BOT' });
  });

  it('stops where eventMacro stops, with its line', async () => {
    expect((await run(m('log a', 'doo sit', 'log b'))).error).toMatchObject({ code: 'RUNTIME_ERROR', line: 3, message: 'Unrecognized macro command' });
    expect((await run(m('goto nowhere'))).error).toMatchObject({ line: 2, message: "Cannot find label 'nowhere'" });
    expect((await run(m('pause soon'))).error?.message).toMatch(/must be numeric/);
    expect((await run(m('set macro_delay $d'))).error?.message).toMatch(/macro_delay parameter should be a number/);
    expect((await run(m('call ghost'))).error?.message).toBe("could not find macro with name 'ghost'");
    expect((await run(m('lock ghostAuto'))).error?.message).toBe("could not find automacro with name 'ghostAuto'");
    expect((await run(m('$.map = x'))).error?.message).toBe("You can't change the value of read-only variables");
    expect((await run(m('log Healing (50%)'))).error?.message).toBe('Unrecognized --> Healing <-- Sub-Routine');
  });

  it('reads "if (…){" as eventMacro does: the block runs as commands when false, and a true one stops', async () => {
    expect((await run(m('$x = 0', 'if ($x > 1){', 'log inside', '}', 'log after'))).log).toEqual(['inside', 'after']);
    expect((await run(m('$x = 5', 'if ($x > 1){', 'log inside', '}'))).error?.message).toBe('Unrecognized macro command');
  });

  it('assigns arrays and hashes from lists, and scalars from expansions', async () => {
    const r = await run(m('@l = (a, b, c)', '%h = (x => 1, y => 2)', '$l[1] = B', '$h{z} = $l[1]$h{x}', '$n = @l', 'log $l[1] $h{z} $n'));
    expect(r.log).toEqual(['B B1 3']);
    expect(r.vars.toJSON()).toMatchObject({ arrays: { l: ['a', 'B', 'c'] }, hashes: { h: { x: '1', y: '2', z: 'B1' } } });
  });
});

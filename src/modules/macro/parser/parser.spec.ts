import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AutomacroBlock, MacroBlock, Statement } from './ast';
import { parseMacroSource } from './parser';
import { validateMacroSource } from './validator';

const FIXTURES = path.join(__dirname, '..', '__fixtures__');
const read = (rel: string) => fs.readFileSync(path.join(FIXTURES, rel), 'utf8');
const codes = (ds: Array<{ code: string; line: number }>) => ds.map((d) => `${d.code}@${d.line}`);

describe('eventMacro corpus: valid files', () => {
  const valid = fs.readdirSync(path.join(FIXTURES, 'valid')).filter((f) => f !== 'warnings.txt');

  it.each(valid)('%s parses and validates without errors or warnings', (file) => {
    const r = validateMacroSource(read(`valid/${file}`));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.document.structureOk).toBe(true);
    expect(r.document.blocks.length).toBeGreaterThan(0);
  });

  it('farming.txt: blocks, line ranges, conditions and nested statements', () => {
    const doc = parseMacroSource(read('valid/farming.txt'));
    expect(doc.blocks.map((b) => `${b.kind}:${b.name}@${b.line}-${b.endLine}`)).toEqual([
      'automacro:startFarm@2-10',
      'automacro:tooHeavy@12-17',
      'automacro:mobbed@19-24',
      'macro:farmRoute@26-50',
      'macro:goStorage@52-62',
      'macro:escape@64-69',
    ]);
    const start = doc.blocks[0] as AutomacroBlock;
    expect(start.conditions.map((c) => [c.canonical, c.line, c.comparison ?? c.names])).toEqual([
      ['InMap', 3, ['prt_fild08']],
      ['BaseLevel', 4, { op: '>=', value: 20, percent: false }],
      ['BaseLevel', 5, { op: '<', value: 60, percent: false }],
      ['weight', 6, { op: '<', value: 50, percent: true }],
    ]);
    expect(start.options).toEqual({ 'run-once': '1', priority: '5' });
    expect(start.call).toEqual({ line: 9, target: 'farmRoute', times: null });
    const heavy = doc.blocks[1] as AutomacroBlock;
    expect(heavy.conditions[1]).toMatchObject({ canonical: 'location', negated: true, names: ['prontera'] });
    const mobbed = doc.blocks[2] as AutomacroBlock;
    expect(mobbed.conditions[1]).toMatchObject({ canonical: 'MobNear', names: ['Poring', 'Drops'] });

    const farm = doc.blocks[3] as MacroBlock;
    expect(farm.body.map((s) => `${s.type}@${s.line}`)).toEqual(['set@27', 'assign@28', 'assign@29', 'while@30', 'release@49']);
    const loop = farm.body[3] as Extract<Statement, { type: 'while' }>;
    expect(loop).toMatchObject({ conditionText: '$lap < $maxLaps', endLine: 48 });
    const ifs = loop.body.find((s) => s.type === 'if') as Extract<Statement, { type: 'if' }>;
    expect(ifs.branches.map((b) => [b.line, b.conditionText, b.body.map((s) => s.type)])).toEqual([
      [36, '$.hp < 300', ['do', 'pause', 'do']],
      [40, '$.sp < 20', ['do', 'pause']],
      [43, null, ['do', 'pause']],
    ]);
    expect(ifs.endLine).toBe(46);
    expect(farm.text.split('\n')).toHaveLength(50 - 26 + 1);
  });

  it('potions.txt: inline call blocks and quoted inventory items', () => {
    const doc = parseMacroSource(read('valid/potions.txt'));
    const lowSP = doc.blocks.find((b) => b.name === 'lowSP') as AutomacroBlock;
    expect(lowSP.call).toMatchObject({ line: 23, target: null, inline: [{ type: 'do', command: 'is Blue Potion', line: 24 }, { type: 'pause', line: 25 }] });
    const lowHP = doc.blocks.find((b) => b.name === 'lowHP') as AutomacroBlock;
    expect(lowHP.conditions[1]).toMatchObject({ canonical: 'InInventory', names: ['White Potion'], comparison: { op: '>', value: 0 } });
  });

  it('storage-run.txt: labels, one-line ifs with goto', () => {
    const bank = parseMacroSource(read('valid/storage-run.txt')).blocks[1] as MacroBlock;
    expect(bank.body.map((s) => s.type)).toEqual(['assign', 'label', 'do', 'pause', 'assign', 'if', 'if', 'label', 'log']);
    expect(bank.body[5]).toMatchObject({ type: 'if', branches: [{ inline: true, conditionText: '$tries >= 3', body: [{ type: 'goto', label: 'done' }] }] });
  });

  it('warnings.txt: valid, with the expected warnings and their lines', () => {
    const r = validateMacroSource(read('valid/warnings.txt'));
    expect(r.ok).toBe(true);
    expect(codes(r.warnings)).toEqual(['FEW_PAUSES@3', 'ENDLESS_LOOP@13', 'ENDLESS_LOOP@21', 'ENDLESS_LOOP@31', 'NO_CONDITION@34']);
  });
});

describe('eventMacro corpus: broken files', () => {
  const expected: Record<string, string[]> = {
    'missing-brace.txt': ['UNBALANCED_BRACES@6'],
    'stray-brace.txt': ['UNBALANCED_BRACES@5', 'UNBALANCED_BRACES@12'],
    'unknown-keywords.txt': ['UNKNOWN_KEYWORD@2', 'UNKNOWN_KEYWORD@7', 'UNKNOWN_KEYWORD@9', 'UNKNOWN_KEYWORD@12'],
    'undefined-call.txt': ['UNDEFINED_MACRO@3', 'UNDEFINED_MACRO@8'],
    'duplicates.txt': ['DUPLICATE_NAME@10', 'DUPLICATE_NAME@14'],
    'missing-call.txt': ['MISSING_CALL@1'],
    'bad-values.txt': [
      'INVALID_VALUE@2',
      'INVALID_VALUE@3',
      'INVALID_VALUE@4',
      'INVALID_VALUE@5',
      'INVALID_VALUE@6',
      'INVALID_VALUE@7',
      'INVALID_VALUE@12',
      'SYNTAX@13',
      'SYNTAX@16',
      'UNDEFINED_LABEL@17',
    ],
    'unclosed-if.txt': ['UNBALANCED_BRACES@1', 'UNBALANCED_BRACES@8'],
  };

  it('covers every broken fixture', () => {
    expect(fs.readdirSync(path.join(FIXTURES, 'broken')).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s: errors with their line numbers', (file, errors) => {
    const r = validateMacroSource(read(`broken/${file}`));
    expect(r.ok).toBe(false);
    expect(codes(r.errors)).toEqual(errors);
    for (const e of r.errors) expect(e.message.length).toBeGreaterThan(5);
  });

  it('reports what is wrong in words a macro author understands', () => {
    const r = validateMacroSource(read('broken/missing-brace.txt'));
    expect(r.errors[0].message).toBe('macro heal is never closed: missing "}" before the next block starts');
    // Recovery: the block after the missing brace is still parsed.
    expect(r.document.blocks.map((b) => b.name)).toEqual(['lowHP', 'heal', 'rest']);
    expect(validateMacroSource(read('broken/undefined-call.txt')).errors[0].message).toBe('call of macro "heall", which is defined nowhere');
  });
});

describe('parser details', () => {
  const errorsOf = (src: string) => codes(validateMacroSource(src).errors);

  it('accepts every command of a macro block', () => {
    const src = [
      'macro all {',
      '    do c hi',
      '    pause',
      '    pause $delay',
      '    log text with $var',
      '    call other 2',
      '    call $target',
      '    release all',
      '    lock someAuto',
      '    set macro_delay 0.5',
      '    $x = 1',
      '    $x++',
      '    $x--',
      '    @list = (a, b)',
      '    %map = (k => v)',
      '    if ($x == 1 && ($y != 2 || !$z)) {',
      '        stop',
      '    } else if ($x =~ /ab+c/i) {',
      '        log regex',
      '    }',
      '}',
      'macro other {',
      '    log other',
      '}',
      'automacro someAuto {',
      '    console /hello/',
      '    call other',
      '}',
    ].join('\n');
    const r = validateMacroSource(src);
    expect(r.errors).toEqual([]);
    const body = (r.document.blocks[0] as MacroBlock).body;
    expect(body.map((s) => s.type)).toEqual([
      'do', 'pause', 'pause', 'log', 'call', 'call', 'release', 'lock', 'set', 'assign', 'assign', 'assign', 'assign', 'assign', 'if',
    ]);
    expect(body[4]).toMatchObject({ target: 'other', times: '2' });
    expect(body[11]).toMatchObject({ variable: '$x', op: '--', value: null });
    expect(body[12]).toMatchObject({ variable: '@list', op: '=', value: '(a, b)' });
    const branches = (body[14] as Extract<Statement, { type: 'if' }>).branches;
    expect(branches[0].condition).toMatchObject({ kind: 'and' });
    expect(branches[1].condition).toMatchObject({ kind: 'cmp', op: '=~', regex: { source: 'ab+c', flags: 'i' } });
  });

  it('refuses names that could not be files or URL segments', () => {
    expect(errorsOf('macro ../evil {\n    log x\n}\n')).toEqual(['INVALID_NAME@1']);
    expect(errorsOf('macro a/b {\n    log x\n}\n')).toEqual(['INVALID_NAME@1']);
    expect(errorsOf('macro {\n    log x\n}\n')).toEqual(['INVALID_NAME@1']);
    expect(errorsOf('macro two words {\n    log x\n}\n')).toEqual(['INVALID_NAME@1']);
  });

  it('wants the opening brace on the header line, and recovers when it is on the next one', () => {
    const r = validateMacroSource('macro a\n{\n    log x\n}\nmacro b {\n    log y\n}\n');
    expect(codes(r.errors)).toEqual(['SYNTAX@1']);
    expect(r.document.blocks.map((b) => b.name)).toEqual(['a', 'b']);
  });

  it('reports conditions that do not parse, with the line', () => {
    expect(errorsOf('macro a {\n    if () {\n    }\n}\n')).toEqual(['SYNTAX@2']);
    expect(errorsOf('macro a {\n    if ($x == 1 {\n    }\n}\n')).toEqual(['SYNTAX@2']);
    expect(errorsOf('macro a {\n    while ($x =~ /(/) {\n        $x = 1\n    }\n}\n')).toEqual(['SYNTAX@2']);
    expect(errorsOf('macro a {\n    if ($x == 1)\n}\n')).toEqual(['SYNTAX@2']);
  });

  it('reports elsif/else without an if, else after else, labels inside blocks', () => {
    // `} else {` closes and opens: skipped as a whole, the braces stay balanced.
    expect(errorsOf('macro a {\n    } else {\n}\n')).toEqual(['SYNTAX@2']);
    expect(errorsOf('macro a {\n    if (1) {\n    } else {\n    } else {\n    }\n}\n')).toEqual(['SYNTAX@4']);
    expect(errorsOf('macro a {\n    if (1) {\n        :inner\n    }\n}\n')).toEqual(['SYNTAX@3']);
  });

  it('checks automacro calls and options', () => {
    expect(errorsOf('automacro a {\n    hp < 10%\n    call x\n    call y\n}\nmacro x {\n    log x\n}\nmacro y {\n    log y\n}\n')).toEqual(['SYNTAX@4']);
    expect(errorsOf('automacro a {\n    hp < 10%\n    timeout 1\n    timeout 2\n    call x\n}\nmacro x {\n    log x\n}\n')).toEqual(['SYNTAX@4']);
    // The one "}" closes the call block; the automacro is the block left open.
    expect(errorsOf('automacro a {\n    hp < 10%\n    call {\n        do sit\n}\n')).toEqual(['UNBALANCED_BRACES@1']);
  });

  it('resolves calls across files through the validation context, and flags duplicates there', () => {
    const src = 'macro a {\n    call elsewhere\n}\n';
    expect(validateMacroSource(src).ok).toBe(false);
    expect(validateMacroSource(src, { macros: new Map([['elsewhere', 'other.txt']]) }).ok).toBe(true);
    const dup = validateMacroSource(src, { macros: new Map([['a', 'other.txt'], ['elsewhere', 'other.txt']]) });
    expect(dup.errors).toEqual([expect.objectContaining({ code: 'DUPLICATE_NAME', line: 1, file: 'other.txt' })]);
  });

  it('handles CRLF line endings, a BOM and comments', () => {
    const r = validateMacroSource('\uFEFF# comment\r\nmacro a {\r\n    # inside\r\n    log x\r\n}\r\n');
    expect(r.errors).toEqual([]);
    expect(r.document.blocks[0]).toMatchObject({ name: 'a', line: 2, endLine: 5 });
  });

  it('never throws and always reports lines within the file, whatever the input', () => {
    const token = fc.constantFrom('macro a {', 'automacro b {', '}', '} else {', '} elsif ($x) {', 'if ($x > 1) {', 'while (1) {', 'do sit', 'pause 1',
      'call a', 'call b', 'hp < 50%', 'goto l', ':l', '$x++', '# c', '', 'foo bar', 'if ($x) stop', 'call {', 'log $.map');
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 30 })), { maxLength: 40 }), (lines) => {
        const src = lines.join('\n');
        const r = validateMacroSource(src);
        for (const d of [...r.errors, ...r.warnings]) {
          expect(d.line).toBeGreaterThanOrEqual(0);
          expect(d.line).toBeLessThanOrEqual(Math.max(1, lines.length));
        }
        for (const b of r.document.blocks) expect(b.endLine).toBeGreaterThanOrEqual(b.line);
      }),
      { numRuns: 300 },
    );
  });
});

import * as fc from 'fast-check';
import type { AutomacroBlock, MacroBlock } from './ast';
import { PUBLIC_CONDITION_TYPES } from './conditions';
import { validateMacroSource } from './validator';

const codes = (ds: Array<{ code: string; line: number; effect: string }>) => ds.map((d) => `${d.code}@${d.line}:${d.effect}`);

describe('validateMacroSource', () => {
  it('knows the 122 condition types eventMacro ships', () => {
    expect(PUBLIC_CONDITION_TYPES).toHaveLength(122);
  });

  it('keeps the lines of a macro as eventMacro does: cleaned, with their line numbers', () => {
    const r = validateMacroSource('macro a {\n    log   x   # comment\n\n    # whole-line comment\n    do  sit\n}\n');
    expect((r.document.blocks[0] as MacroBlock).lines).toEqual([
      { line: 2, text: 'log x' },
      { line: 5, text: 'do sit' },
    ]);
  });

  it("fills an automacro's call, options and conditions once it loads; marks Perl conditions as the bot's", () => {
    const r = validateMacroSource('automacro a {\n    CurrentHP < 30%\n    Eval $char->{sp} > 5\n    priority 2\n    call m 1 2\n}\nmacro m {\n    log x\n}\n');
    const a = r.document.blocks[0] as AutomacroBlock;
    expect(a.ignored).toBeNull();
    expect(a.call).toEqual({ line: 5, target: 'm', args: '1 2', inline: false });
    expect(a.options).toMatchObject({ priority: '2' });
    expect(a.conditions.map((c) => [c.key, c.botOnly])).toEqual([
      ['CurrentHP', false],
      ['Eval', true],
    ]);
    expect(a.evaluatedByBot).toEqual(['line 3: Eval is Perl code only the bot can evaluate']);
  });

  it('resolves calls and subs through the folder context, and records the names its verdict depends on', () => {
    const src = 'automacro a {\n    BaseLevel > 1\n    call elsewhere\n}\nmacro b {\n    call elsewhere\n    $x = helper(1)\n}\n';
    const alone = validateMacroSource(src);
    expect(codes(alone.warnings)).toEqual(['UNDEFINED_MACRO@3:block_ignored', 'UNDEFINED_MACRO@6:stops_macro', 'STATEMENT@7:stops_macro']);
    expect(alone.crossRefs).toEqual(['elsewhere', 'helper']);
    const inFolder = validateMacroSource(src, { macros: new Map([['elsewhere', 'other.txt']]), subs: new Map([['helper', 'perl.txt']]) });
    expect(inFolder.warnings).toEqual([]);
    expect((inFolder.document.blocks[1] as MacroBlock).evaluatedByBot).toEqual(['line 7: sub helper is evaluated by the bot']);
  });

  it('refuses a missing or self include, and only advises about one the engine does not load', () => {
    const src = '!include other.txt\nmacro a {\n    log x\n}\n';
    expect(codes(validateMacroSource(src, { includes: new Map([['other.txt', 'missing']]) }).errors)).toEqual(['INCLUDE@1:file_refused']);
    expect(codes(validateMacroSource(src, { includes: new Map([['other.txt', 'self']]) }).errors)).toEqual(['INCLUDE@1:file_refused']);
    expect(validateMacroSource(src, { includes: new Map([['other.txt', 'present']]) }).ok).toBe(true);
    expect(codes(validateMacroSource(src, { includes: new Map([['other.txt', 'outside']]) }).warnings)).toEqual(['INCLUDE@1:advice']);
    // eventMacro creates a missing include_create_if_missing target.
    expect(validateMacroSource('!include_create_if_missing x.txt\n', { includes: new Map([['x.txt', 'missing']]) }).ok).toBe(true);
  });

  it('points at names the API cannot address and names that differ only by case', () => {
    const r = validateMacroSource('macro a/b {\n    log x\n}\nmacro Heal {\n    log x\n}\nmacro heal {\n    log y\n}\n');
    expect(codes(r.warnings)).toEqual(['NOT_ADDRESSABLE@1:advice', 'CASE_VARIANT@7:advice']);
    expect(r.ok).toBe(true);
  });

  it('never throws, and every diagnostic points at a line of the file, whatever the input', () => {
    const token = fc.constantFrom(
      'macro a {', 'automacro b {', 'sub s {', '}', '} else {', '} elsif ($x) {', 'if ($x > 1) {', 'while ($i < 3) {', 'switch ($x) {', 'case (== 1) {',
      'do sit', 'pause 1', 'call a', 'call {', 'BaseLevel > 1', 'hp < 5%', 'Eval {', 'goto l', ':l', '$x++', '# c', '', '0', 'foo bar {', 'log $.map',
      '!include x.txt', 'call a 1', 'PubMsg /a/', 'set repeat 2', '&push(@a, 1)', 'if ($x){',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 30 })), { maxLength: 40 }), (lines) => {
        const r = validateMacroSource(lines.join('\n'));
        for (const d of [...r.errors, ...r.warnings]) {
          expect(d.line).toBeGreaterThanOrEqual(0);
          expect(d.line).toBeLessThanOrEqual(Math.max(1, lines.length));
          expect(d.severity === 'error').toBe(d.effect === 'file_refused');
        }
        for (const b of [...r.document.blocks, ...r.document.subs]) expect(b.endLine).toBeGreaterThanOrEqual(b.line);
        expect(r.ok).toBe(r.errors.length === 0);
      }),
      { numRuns: 400 },
    );
  });
});

import * as fc from 'fast-check';
import { validateMacroSource } from '../language/validator';
import { type MacroTemplateId, renderMacroTemplate, TemplateParameterError } from './macro-templates';

function expectValid(content: string) {
  const r = validateMacroSource(content);
  expect({ errors: r.errors, warnings: r.warnings }).toEqual({ errors: [], warnings: [] });
  return r;
}

const label = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 '_.:+-]{0,38}[A-Za-z0-9]$/);
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,30}$/);

describe('macro templates', () => {
  it('combat rotation renders a valid file with its trigger, rotation and potion', () => {
    const t = renderMacroTemplate('combat_rotation', {
      name: 'knight_combat',
      skills: [{ skill: 'Bash', level: 10 }, { skill: 'Endure', target: 'self', pause_s: 0.5 }],
      monster: 'Poring',
      min_sp_pct: 20,
      potion: { item: 'Red Potion', hp_below_pct: 40 },
      priority: 3,
    });
    const r = expectValid(t.content);
    expect(t).toMatchObject({ file: 'generated/knight_combat.txt', macros: ['knight_combat', 'knight_combat_potion'], automacros: ['knight_combat_trigger', 'knight_combat_potion'] });
    expect(r.document.blocks.map((b) => `${b.kind}:${b.name}`)).toEqual([
      'automacro:knight_combat_trigger',
      'macro:knight_combat',
      'automacro:knight_combat_potion',
      'macro:knight_combat_potion',
    ]);
    expect(t.content).toContain('    do sm "Bash" 0 10\n    pause 1\n    do ss "Endure" 1\n    pause 0.5\n');
  });

  it('farming rotation renders route laps and the storage trip', () => {
    const t = renderMacroTemplate('farming_rotation', {
      name: 'farm08',
      map: 'prt_fild08',
      route: [{ x: 150, y: 200 }, { x: 180, y: 220 }],
      laps: 3,
      storage: { map: 'prontera', npc_x: 151, npc_y: 29, items: ['Jellopy', 'Sticky Mucus'] },
      min_level: 10,
      max_level: 40,
    });
    expectValid(t.content);
    expect(t.macros).toEqual(['farm08', 'farm08_storage']);
    expect(t.content).toContain('while ($lap < 3) {');
    expect(t.content).toContain('do storage add Sticky Mucus');
  });

  it('party support renders heal and buff rounds', () => {
    const t = renderMacroTemplate('party_support', { name: 'priest', heal_below_pct: 55, buffs: [{ skill: 'Blessing' }, { skill: 'Increase AGI', level: 5 }], buff_targets: [0, 2] });
    expectValid(t.content);
    expect(t.automacros).toEqual(['priest_heal', 'priest_buffs']);
    expect(t.content).toContain('do sp "Increase AGI" 2 5');
  });

  it('every rendering of random valid parameters is a valid file without warnings', () => {
    const skill = fc.record({ skill: label, level: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }), target: fc.constantFrom<'monster' | 'self' | undefined>('monster', 'self', undefined) });
    const combat = fc.record({ name, skills: fc.array(skill, { minLength: 1, maxLength: 8 }), monster: fc.option(label, { nil: undefined }), potion: fc.option(fc.record({ item: label, hp_below_pct: fc.integer({ min: 1, max: 99 }) }), { nil: undefined }) });
    const farming = fc.record({
      name,
      map: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      route: fc.array(fc.record({ x: fc.integer({ min: 0, max: 1000 }), y: fc.integer({ min: 0, max: 1000 }) }), { minLength: 1, maxLength: 32 }),
      laps: fc.integer({ min: 1, max: 100 }),
      storage: fc.option(fc.record({ map: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), npc_x: fc.nat(1000), npc_y: fc.nat(1000), items: fc.array(label, { maxLength: 20 }) }), { nil: undefined }),
    });
    const party = fc.record({ name, buffs: fc.option(fc.array(fc.record({ skill: label }), { maxLength: 8 }), { nil: undefined }), buff_targets: fc.option(fc.array(fc.nat(999), { maxLength: 11 }), { nil: undefined }) });
    const cases = fc.oneof(
      combat.map((p) => ['combat_rotation', p] as const),
      farming.map((p) => ['farming_rotation', p] as const),
      party.map((p) => ['party_support', p] as const),
    );
    fc.assert(
      fc.property(cases, ([id, params]) => {
        // eventMacro reads any automacro line containing "call " as a call: such labels are refused there.
        const onAutomacroLine = id === 'combat_rotation' ? [(params as { monster?: string }).monster, (params as { potion?: { item: string } }).potion?.item] : [];
        if (onAutomacroLine.some((v) => v !== undefined && /call [^{]/.test(v))) {
          expect(() => renderMacroTemplate(id as MacroTemplateId, params as never)).toThrow(TemplateParameterError);
          return;
        }
        const t = renderMacroTemplate(id as MacroTemplateId, params as never);
        const r = validateMacroSource(t.content);
        expect(r.errors).toEqual([]);
        expect(r.warnings).toEqual([]);
        expect(r.document.blocks.filter((b) => b.kind === 'macro').map((b) => b.name)).toEqual(t.macros);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a monster or potion containing "call ", which eventMacro would read as a call line in the automacro', () => {
    const potion = { name: 'a', skills: [{ skill: 'A0', target: 'monster' as const }], potion: { item: 'acall A', hp_below_pct: 1 } };
    expect(() => renderMacroTemplate('combat_rotation', potion)).toThrow(/potion\.item: must not contain "call "/);
    expect(() => renderMacroTemplate('combat_rotation', { name: 'a', skills: [{ skill: 'A0' }], monster: 'Recall Ghost' })).toThrow(/monster: must not contain "call "/);
    // The same text where eventMacro reads it whole (a macro's do line) or without the space stays valid.
    expectValid(renderMacroTemplate('combat_rotation', { name: 'a', skills: [{ skill: 'acall A' }], monster: 'Recall', potion: { item: 'Recall', hp_below_pct: 1 } }).content);
  });

  it('refuses parameters that could break out of their line or block', () => {
    const bad: Array<[MacroTemplateId, unknown]> = [
      ['combat_rotation', { name: 'x', skills: [{ skill: 'Bash"\n}\nmacro evil {' }] }],
      ['combat_rotation', { name: '../x', skills: [{ skill: 'Bash' }] }],
      ['combat_rotation', { name: 'x', skills: [] }],
      ['combat_rotation', { name: 'x', skills: [{ skill: 'Bash', level: 99 }] }],
      ['farming_rotation', { name: 'x', map: 'prt fild', route: [{ x: 1, y: 1 }] }],
      ['farming_rotation', { name: 'x', map: 'prt', route: [{ x: -1, y: 1 }] }],
      ['party_support', { name: 'x', heal_skill: '$evil' }],
      ['party_support', { name: 'x', buffs: [{ skill: '}' }] }],
    ];
    for (const [id, params] of bad) expect(() => renderMacroTemplate(id, params as never)).toThrow(TemplateParameterError);
    expect(() => renderMacroTemplate('nope', {})).toThrow(TemplateParameterError);
  });
});

import { ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';
import { GameStateDto } from './dto/game-state.dto';
import { parseGameState } from './game-state.validator';

// The DTO's rules as the engine applies them to a game state: unknown fields dropped, not refused.
const pipe = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: false, transform: true, forbidUnknownValues: true });
const viaDto = async (v: unknown): Promise<boolean> => {
  try {
    await pipe.transform(v, { type: 'body', metatype: GameStateDto });
    return true;
  } catch {
    return false;
  }
};
const viaFast = (v: unknown): boolean => {
  try {
    parseGameState(v);
    return true;
  } catch {
    return false;
  }
};

// Values around every boundary the rules draw, plus wrong types.
const anyValue = fc.oneof(
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom(0, 1, 64, 65, 100, 101, 1000, 1001, 100_000, 100_001, 100_000_000, 100_000_001, 1.5, -0.5),
  fc.string({ maxLength: 70 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);

/**
 * Game states around every rule: `bad` is the weight of a wrong value where a right one is
 * expected (out of 20). Noisy states probe the refusals; plausible ones (bad 0: right types,
 * values still around the bounds) reach the accepting paths and the values kept.
 */
function states(bad: number) {
  const orBad = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => (bad > 0 ? fc.oneof({ weight: 20, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: bad, arbitrary: anyValue as fc.Arbitrary<unknown> }) : arb);
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(orBad(arb), { nil: undefined });

  // What Perl's JSON encoder may make of a raw number once it was used as text, plus near misses.
  const numericText = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -3, max: 2_000_000 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('5', '0', '-1', '007', '1e3', '5.0', ' 7', '0x10', '', '9'.repeat(16)) },
  );
  const rawInt = (max: number) => orBad(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -1, max }) }, { weight: 2, arbitrary: numericText }));

  const position = fc.record({ map: orBad(fc.string({ minLength: 0, maxLength: 66 })), x: orBad(fc.nat(100_001)), y: fc.nat(100_001) });
  const equipment = fc.record(
    { slot: maybe(fc.oneof(fc.nat(2 ** 31 + 1), fc.constant('unknown'), numericText, fc.string({ maxLength: 34 }))), name: maybe(fc.string({ maxLength: 130 })), id: maybe(rawInt(30_000)) },
    { requiredKeys: [] },
  );
  const guild = fc.oneof(
    fc.record({ name: maybe(fc.oneof(fc.string({ maxLength: 66 }), fc.nat())), id: maybe(fc.oneof(fc.constant(''), fc.nat(), fc.string({ maxLength: 3 }))), position: maybe(fc.string({ maxLength: 66 })) }, { requiredKeys: [] }),
    fc.string({ maxLength: 66 }),
  );
  const character = fc.record(
    {
      name: orBad(fc.string({ minLength: 0, maxLength: 66 })),
      level: orBad(fc.integer({ min: 0, max: 1001 })),
      hp: fc.integer({ min: -1, max: 1000 }),
      max_hp: orBad(fc.integer({ min: 0, max: 1000 })),
      sp: fc.nat(1000),
      max_sp: fc.nat(1000),
      position: bad > 0 ? fc.oneof({ weight: 5, arbitrary: position as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue as fc.Arbitrary<unknown> }) : position,
      job_level: maybe(fc.integer({ min: -1, max: 1001 })),
      weight: maybe(fc.nat(10_000)),
      zeny: maybe(fc.nat()),
      job_class: maybe(fc.string({ maxLength: 66 })),
      status_effects: maybe(fc.array(fc.string({ maxLength: 5 }), { maxLength: 66 })),
      is_sitting: maybe(fc.boolean()),
      equipment: maybe(fc.array(equipment, { maxLength: 3 })),
      guild: maybe(guild),
      // Sent by the field plugin, unknown to the engine: dropped.
      points_free: maybe(fc.nat(10)),
      active_quests: maybe(fc.constant(0)),
    },
    { requiredKeys: ['hp', 'sp', 'max_sp'] },
  );
  const monster = fc.record(
    {
      id: fc.oneof(fc.nat(1_000_000), numericText, ...(bad > 0 ? [anyValue] : [])),
      name: maybe(fc.string({ maxLength: 66 })),
      level: maybe(fc.integer({ min: -1, max: 1001 })),
      hp: maybe(fc.constant(0)),
      max_hp: maybe(fc.constant(0)),
      distance: maybe(fc.double({ min: -1, max: 200_000, noNaN: true })),
      is_aggressive: maybe(fc.boolean()),
      position: maybe(position),
    },
    { requiredKeys: ['id'] },
  );
  const skill = fc.record(
    { id: maybe(rawInt(2_000)), name: maybe(fc.oneof(fc.constantFrom('NV_BASIC', 'SM_BASH', 'AL_TELEPORT'), fc.string({ maxLength: 66 }))), level: maybe(rawInt(101)), sp_cost: maybe(rawInt(100_001)) },
    { requiredKeys: [] },
  );
  const item = fc.record(
    {
      id: rawInt(30_000),
      name: maybe(fc.string({ maxLength: 130 })),
      amount: maybe(rawInt(5)),
      type: maybe(fc.oneof(fc.constant('misc'), fc.nat(20), numericText, fc.string({ maxLength: 34 }))),
      equipped: maybe(fc.boolean()),
      invIndex: maybe(rawInt(60)),
    },
    { requiredKeys: ['id'] },
  );
  const player = fc.record(
    {
      id: maybe(rawInt(1_000_000)),
      name: maybe(fc.string({ maxLength: 66 })),
      level: maybe(fc.integer({ min: -1, max: 1001 })),
      guild: maybe(fc.string({ maxLength: 66 })),
      distance: maybe(fc.nat(30)),
      is_party_member: maybe(fc.boolean()),
      job_class: maybe(fc.string({ maxLength: 66 })),
    },
    { requiredKeys: [] },
  );
  const member = fc.record({ name: maybe(fc.string({ maxLength: 66 })), online: maybe(fc.boolean()) }, { requiredKeys: [] });
  return fc.record(
    {
      character: bad > 0 ? fc.oneof({ weight: 6, arbitrary: character as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue as fc.Arbitrary<unknown> }) : character,
      skills: maybe(fc.array(skill, { maxLength: 3 })),
      monsters: maybe(fc.array(monster, { maxLength: 4 })),
      inventory: maybe(fc.array(item, { maxLength: 3 })),
      nearby_players: maybe(fc.array(player, { maxLength: 3 })),
      // The field plugin sends {}; a list, or an object keyed by name, are read alike.
      party_members: maybe(fc.oneof(fc.array(member, { maxLength: 3 }), fc.constant({}), fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), member, { maxKeys: 3 }))),
      timestamp_ms: maybe(fc.integer({ min: -1, max: 2_000_000_000_000 })),
    },
    { requiredKeys: ['character'] },
  );
}

const GENERATORS = [
  ['noisy', states(5)],
  ['plausible', states(0)],
] as const;

describe('parseGameState (hot-path validator)', () => {
  it.each(GENERATORS)('property (%s states): accepts exactly what the DTO (class-validator) accepts', async (_name, state) => {
    await fc.assert(
      fc.asyncProperty(state, async (s) => {
        // Drop undefined keys: JSON bodies never carry them.
        const v = JSON.parse(JSON.stringify(s)) as unknown;
        expect(viaFast(v)).toBe(await viaDto(v));
      }),
      { numRuns: 4000 },
    );
  });

  it.each(GENERATORS)('property (%s states): keeps exactly the values the DTO keeps (as JSON; an absent or null optional field is dropped)', async (name, state) => {
    // The DTO keeps an optional field sent as null; the fast path drops it (null = absent).
    const asJson = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, value: unknown) => (value === null ? undefined : value))) as unknown;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(state, async (s) => {
        const v = JSON.parse(JSON.stringify(s)) as unknown;
        let dto: unknown;
        try {
          dto = await pipe.transform(v, { type: 'body', metatype: GameStateDto });
        } catch {
          return; // refused: the property above covers it
        }
        accepted++;
        const fast = parseGameState(v);
        expect(asJson(fast)).toEqual(asJson(dto));
        expect(Object.isFrozen(fast) && Object.isFrozen(fast.character) && Object.isFrozen(fast.character.position)).toBe(true);
        for (const m of fast.monsters ?? []) expect(Object.isFrozen(m)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // The plausible states must reach the values compared here, or this property proves little.
    if (name === 'plausible') expect(accepted).toBeGreaterThan(100);
  });

  it('drops unknown fields instead of storing them', () => {
    const parsed = parseGameState({
      character: { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0, extra: 1 }, points_free: 3 },
      monsters: [{ id: 1, secret: true }],
      something_new: [1, 2, 3],
    });
    expect(parsed).toEqual({ character: { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0 } }, monsters: [{ id: 1 }] });
  });

  it('reads the field plugin’s shapes: no skill or player ids, party {} or keyed by name, raw values as text', () => {
    const parsed = parseGameState({
      character: {
        ...{ name: 'Aster', level: 33, job_level: 21, hp: 410, max_hp: 900, sp: 12, max_sp: 80, points_free: 0, str: 40, active_quests: 0 },
        job_class: 'Acolyte',
        position: { map: 'moc_fild11', x: 212, y: 87 },
        status_effects: [],
        equipment: [
          { slot: 2, name: 'Rod', id: 1601 },
          { slot: 'unknown', name: 'Cap', id: '2226' },
        ],
        guild: { name: '', id: '', position: '' },
      },
      skills: [{ name: 'AL_HEAL', level: 5, sp_cost: '22' }],
      monsters: [{ id: '7', name: 'Drops', hp: 0, max_hp: 0, distance: 999, is_aggressive: false }],
      inventory: [
        { id: 545, name: 'Red Slim Potion', amount: '9', type: 'misc', equipped: false, invIndex: 0 },
        { id: '1601', name: 'Rod', amount: 1, type: '5', equipped: true, invIndex: '1' },
      ],
      nearby_players: [{ name: 'Wren', level: 44, guild: 'Nomads', distance: 3, is_party_member: true, job_class: 'Thief' }],
      party_members: {},
    });
    expect(parsed.skills).toEqual([{ name: 'AL_HEAL', level: 5, sp_cost: 22 }]);
    expect(parsed.monsters?.[0].id).toBe(7);
    expect(parsed.inventory?.map((i) => [i.id, i.amount, i.type, i.invIndex])).toEqual([
      [545, 9, 'misc', 0],
      [1601, 1, 5, 1],
    ]);
    expect(parsed.character.equipment?.map((e) => e.slot)).toEqual([2, 'unknown']);
    expect(parsed.character.guild).toEqual({ name: '', id: '', position: '' });
    expect(parsed.party_members).toEqual([]);
    expect(JSON.parse(JSON.stringify(parsed.nearby_players))).toEqual([{ name: 'Wren', level: 44, guild: 'Nomads', distance: 3, is_party_member: true, job_class: 'Thief' }]);
    const keyed = parseGameState({ character: { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 1, position: { map: 'm', x: 0, y: 0 } }, party_members: { Wren: { online: true } } });
    expect(JSON.parse(JSON.stringify(keyed.party_members))).toEqual([{ name: 'Wren', online: true }]);
  });

  it('still refuses what is really wrong: a number that is not one, a wrong shape', () => {
    const base = { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 1, position: { map: 'm', x: 0, y: 0 } };
    expect(() => parseGameState({ character: { ...base, hp: '12' } })).toThrow('game_state.character.hp must be an integer number');
    expect(() => parseGameState({ character: base, inventory: [{ id: 'Red Potion' }] })).toThrow('game_state.inventory[0].id');
    expect(() => parseGameState({ character: base, inventory: [{ id: 1, amount: '1.5' }] })).toThrow('game_state.inventory[0].amount');
    expect(() => parseGameState({ character: base, party_members: 'none' })).toThrow('game_state.party_members must be an object');
    expect(() => parseGameState({ character: { ...base, equipment: [{ slot: true }] } })).toThrow('game_state.character.equipment[0].slot');
  });

  it('names the failing field', () => {
    expect(() => parseGameState({ character: { name: 'K', level: 1, hp: 'x', max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0 } } })).toThrow(
      'game_state.character.hp must be an integer number',
    );
  });
});

import fc from 'fast-check';
import { createValidationPipe } from '../../common/http/validation.pipe';
import { GameStateDto } from './dto/game-state.dto';
import { parseGameState } from './game-state.validator';

const pipe = createValidationPipe();
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
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue as fc.Arbitrary<unknown> }), { nil: undefined });

const position = fc.record({ map: fc.oneof(fc.string({ minLength: 0, maxLength: 66 }), anyValue), x: fc.oneof(fc.nat(100_001), anyValue), y: fc.nat(100_001) });
const character = fc.record(
  {
    name: fc.oneof(fc.string({ minLength: 0, maxLength: 66 }), anyValue),
    level: fc.oneof(fc.integer({ min: 0, max: 1001 }), anyValue),
    hp: fc.integer({ min: -1, max: 1000 }),
    max_hp: fc.oneof(fc.integer({ min: 0, max: 1000 }), anyValue),
    sp: fc.nat(1000),
    max_sp: fc.nat(1000),
    position: fc.oneof({ weight: 5, arbitrary: position }, { weight: 1, arbitrary: anyValue as fc.Arbitrary<unknown> }),
    job_level: maybe(fc.integer({ min: -1, max: 1001 })),
    weight: maybe(fc.nat(10_000)),
    zeny: maybe(fc.nat()),
    job_class: maybe(fc.string({ maxLength: 66 })),
    status_effects: maybe(fc.array(fc.string({ maxLength: 5 }), { maxLength: 66 })),
    is_sitting: maybe(fc.boolean()),
  },
  { requiredKeys: ['hp', 'sp', 'max_sp'] },
);
const monster = fc.record(
  { id: fc.oneof(fc.nat(1_000_000), anyValue), name: maybe(fc.string({ maxLength: 66 })), level: maybe(fc.integer({ min: -1, max: 1001 })), distance: maybe(fc.double({ min: -1, max: 200_000, noNaN: true })), is_aggressive: maybe(fc.boolean()), position: maybe(position) },
  { requiredKeys: ['id'] },
);
const state = fc.record(
  {
    character: fc.oneof({ weight: 6, arbitrary: character }, { weight: 1, arbitrary: anyValue as fc.Arbitrary<unknown> }),
    monsters: maybe(fc.array(monster, { maxLength: 4 })),
    inventory: maybe(fc.array(fc.record({ id: fc.nat(1000), amount: maybe(fc.integer({ min: -1, max: 5 })), type: maybe(fc.string({ maxLength: 40 })) }, { requiredKeys: ['id'] }), { maxLength: 3 })),
    party_members: maybe(fc.array(fc.record({ name: fc.string({ maxLength: 66 }), online: maybe(fc.boolean()) }, { requiredKeys: ['name'] }), { maxLength: 3 })),
    timestamp_ms: maybe(fc.integer({ min: -1, max: 2_000_000_000_000 })),
  },
  { requiredKeys: ['character'] },
);

describe('parseGameState (hot-path validator)', () => {
  it('property: accepts exactly what the DTO (class-validator) accepts', async () => {
    await fc.assert(
      fc.asyncProperty(state, async (s) => {
        // Drop undefined keys: JSON bodies never carry them.
        const v = JSON.parse(JSON.stringify(s)) as unknown;
        expect(viaFast(v)).toBe(await viaDto(v));
      }),
      { numRuns: 4000 },
    );
  });

  it('property: keeps exactly the values the DTO keeps (as JSON; an absent or null optional field is dropped)', async () => {
    // The DTO keeps an optional field sent as null; the fast path drops it (null = absent).
    const asJson = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, value: unknown) => (value === null ? undefined : value))) as unknown;
    await fc.assert(
      fc.asyncProperty(state, async (s) => {
        const v = JSON.parse(JSON.stringify(s)) as unknown;
        let dto: unknown;
        try {
          dto = await pipe.transform(v, { type: 'body', metatype: GameStateDto });
        } catch {
          return; // refused: the property above covers it
        }
        const fast = parseGameState(v);
        expect(asJson(fast)).toEqual(asJson(dto));
        expect(Object.isFrozen(fast) && Object.isFrozen(fast.character) && Object.isFrozen(fast.character.position)).toBe(true);
        for (const m of fast.monsters ?? []) expect(Object.isFrozen(m)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('drops unknown fields instead of storing them', () => {
    const parsed = parseGameState({
      character: { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0, extra: 1 }, guild: 'x' },
      monsters: [{ id: 1, secret: true }],
      something_new: [1, 2, 3],
    });
    expect(parsed).toEqual({ character: { name: 'K', level: 1, hp: 1, max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0 } }, monsters: [{ id: 1 }] });
  });

  it('names the failing field', () => {
    expect(() => parseGameState({ character: { name: 'K', level: 1, hp: 'x', max_hp: 1, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0 } } })).toThrow(
      'game_state.character.hp must be an integer number',
    );
  });
});

import fc from 'fast-check';
import { extractFeatures, type GameStateLike, monsterThreat, NO_MONSTER_DISTANCE } from './features';
import { FEATURE_COUNT, FEATURE_NAMES } from './ml.constants';

const NOW = Date.UTC(2025, 0, 1, 18, 0, 0); // 18:00 UTC → time_of_day 0.75
const at = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);

const base: GameStateLike = {
  character: { hp: 500, max_hp: 1000, sp: 50, max_sp: 200, weight: 900, max_weight: 1000, level: 87.5, job_level: 35, zeny: 999_999 },
};

describe('extractFeatures', () => {
  it('has the 28 features of the contract, in order', () => {
    expect(FEATURE_COUNT).toBe(28);
    expect(FEATURE_NAMES[0]).toBe('hp_ratio');
    expect(FEATURE_NAMES[27]).toBe('combat_time_ratio');
    expect(extractFeatures(base, { now: NOW })).toHaveLength(28);
  });

  it('computes the character features', () => {
    const f = extractFeatures({ ...base, character: { ...base.character, status_effects: ['poison', 'curse'], buffs: 3 } }, { now: NOW });
    expect(f[at('hp_ratio')]).toBeCloseTo(0.5);
    expect(f[at('sp_ratio')]).toBeCloseTo(0.25);
    expect(f[at('weight_ratio')]).toBeCloseTo(0.9);
    expect(f[at('level_normalized')]).toBeCloseTo(0.5);
    expect(f[at('job_level_normalized')]).toBeCloseTo(0.5);
    expect(f[at('zeny_log')]).toBeCloseTo(0.6, 5);
    expect(f[at('status_effect_count')]).toBe(2);
    expect(f[at('buff_count')]).toBe(3);
  });

  it('summarises monsters, and uses the documented neutral values without any', () => {
    const none = extractFeatures(base, { now: NOW });
    expect(none[at('monster_count')]).toBe(0);
    expect(none[at('avg_monster_level')]).toBe(0);
    expect(none[at('avg_monster_distance')]).toBe(NO_MONSTER_DISTANCE);
    expect(none[at('min_monster_distance')]).toBe(NO_MONSTER_DISTANCE);
    expect(none[at('max_threat_level')]).toBe(0);

    const f = extractFeatures(
      {
        ...base,
        monsters: [
          { level: 10, distance: 2, is_aggressive: true, is_attacking_me: true },
          { level: 30, distance: 8 },
          { distance: 99, threat: 4.5 },
        ],
      },
      { now: NOW },
    );
    expect(f[at('monster_count')]).toBe(3);
    expect(f[at('avg_monster_level')]).toBe(20); // only monsters with a level count
    expect(f[at('avg_monster_distance')]).toBeCloseTo((2 + 8 + NO_MONSTER_DISTANCE) / 3, 5);
    expect(f[at('min_monster_distance')]).toBe(2);
    expect(f[at('max_threat_level')]).toBe(4.5);
    expect(f[at('aggressive_monster_count')]).toBe(1);
    expect(f[at('attacking_me_count')]).toBe(1);
  });

  it('derives a threat when none is given', () => {
    expect(monsterThreat({}, 50)).toBe(1);
    expect(monsterThreat({ is_aggressive: true, is_attacking_me: true }, 50)).toBe(4);
    expect(monsterThreat({ is_aggressive: true, is_attacking_me: true, level: 99 }, 50)).toBe(5);
    expect(monsterThreat({ threat: 9 }, 50)).toBe(5);
  });

  it('computes the session, surroundings and time features', () => {
    const f = extractFeatures(
      {
        ...base,
        nearby_players: [{}, {}],
        party_members: [{}],
        ground_items: [{}, {}, {}],
        map_difficulty: 0.7,
        combat: { damage_received: 99, damage_dealt: 999, kills: 9, time_in_combat_ms: 30 * 60_000 },
        timers: { session_started_ms: NOW - 2 * 3_600_000, last_combat_ms: NOW - 30 * 60_000, last_teleport_ms: NOW + 5_000 },
      },
      { now: NOW },
    );
    expect(f[at('total_damage_received')]).toBeCloseTo(2);
    expect(f[at('total_damage_dealt')]).toBeCloseTo(3);
    expect(f[at('kill_count_session')]).toBeCloseTo(1);
    expect(f[at('player_count_nearby')]).toBe(2);
    expect(f[at('party_member_count')]).toBe(1);
    expect(f[at('item_count_ground')]).toBe(3);
    expect(f[at('map_difficulty')]).toBeCloseTo(0.7);
    expect(f[at('time_of_day')]).toBeCloseTo(0.75);
    expect(f[at('time_since_last_combat')]).toBeCloseTo(0.5);
    expect(f[at('time_since_last_death')]).toBe(1); // never died
    expect(f[at('time_since_last_teleport')]).toBe(0); // clock skew clamps to 0
    expect(f[at('session_duration')]).toBeCloseTo(2);
    expect(f[at('combat_time_ratio')]).toBeCloseTo(0.25);
  });

  it('defaults the clock to the state timestamp', () => {
    const f = extractFeatures({ ...base, timestamp_ms: NOW });
    expect(f[at('time_of_day')]).toBeCloseTo(0.75);
  });

  it('never yields NaN or infinities, whatever the numbers', () => {
    const num = fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(Infinity), fc.integer());
    const monster = fc.record({ level: num, distance: num, is_aggressive: fc.boolean(), is_attacking_me: fc.boolean(), threat: fc.option(num, { nil: undefined }) });
    fc.assert(
      fc.property(
        fc.record({
          character: fc.record({ hp: num, max_hp: num, sp: num, max_sp: num, weight: num, max_weight: num, level: num, job_level: num, zeny: num, buffs: num }),
          monsters: fc.array(monster, { maxLength: 60 }),
          map_difficulty: num,
          combat: fc.record({ damage_received: num, damage_dealt: num, kills: num, time_in_combat_ms: num }),
          timers: fc.record({ session_started_ms: num, last_combat_ms: num, last_death_ms: num, last_teleport_ms: num }),
        }),
        num,
        (state, now) => {
          const f = extractFeatures(state, { now });
          expect(f).toHaveLength(FEATURE_COUNT);
          for (const v of f) expect(Number.isFinite(v)).toBe(true);
          expect(f[at('hp_ratio')]).toBeGreaterThanOrEqual(0);
          expect(f[at('hp_ratio')]).toBeLessThanOrEqual(1);
          expect(f[at('monster_count')]).toBeLessThanOrEqual(50);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * A decide body as the OpenKore plugin in the field builds it (docs/field-plugin.md §4.3): every
 * character field through int(), skills by handle without id, monsters by binID with
 * `is_aggressive`, inventory `type || 'misc'` and an invIndex counter, players without id,
 * `party_members` `{}`, a `req_<epoch>_<n>` request id.
 */
let counter = 0;

export function fieldDecideBody(over: { name?: string; hp?: number; max_hp?: number; monsters?: number; map?: string } = {}) {
  counter += 1;
  const now = Date.now();
  const maxHp = over.max_hp ?? 1480;
  return {
    request_id: `req_${(now / 1000).toFixed(5)}_${counter}`,
    timestamp_ms: now,
    game_state: {
      timestamp_ms: now,
      character: {
        name: over.name ?? 'Sorrel',
        level: 44,
        job_level: 29,
        base_exp: 81_233,
        base_exp_max: 190_000,
        job_exp: 12_004,
        job_exp_max: 40_100,
        hp: over.hp ?? 1210,
        max_hp: maxHp,
        sp: 96,
        max_sp: 160,
        points_free: 0,
        points_skill: 0,
        ...{ str: 52, agi: 61, vit: 20, int: 1, dex: 24, luk: 1 },
        ...{ points_str: 6, points_agi: 7, points_vit: 3, points_int: 2, points_dex: 3, points_luk: 2 },
        position: { map: over.map ?? 'pay_fild08', x: 143, y: 97 },
        weight: 1320,
        max_weight: 4500,
        zeny: 48_210,
        job_class: 'Knight',
        status_effects: [],
        equipment: [
          { slot: 34, name: 'Two-Handed Sword', id: 1158 },
          { slot: 'unknown', name: 'Muffler', id: 2503 },
        ],
        guild: { name: '', id: '', position: '' },
        active_quests: 0,
      },
      skills: [
        { name: 'NV_BASIC', level: 9, sp_cost: 0 },
        { name: 'SM_BASH', level: 10, sp_cost: 15 },
        { name: 'KN_TWOHANDQUICKEN', level: 6, sp_cost: 26 },
      ],
      monsters: Array.from({ length: over.monsters ?? 2 }, (_, i) => ({ id: 20 + i, name: i % 2 ? 'Smokie' : 'Willow', hp: 0, max_hp: 0, distance: 3 + i, is_aggressive: i === 0 })),
      inventory: [
        { id: 503, name: 'Yellow Potion', amount: 18, type: 'misc', equipped: false, invIndex: 0 },
        { id: 1158, name: 'Two-Handed Sword', amount: 1, type: 5, equipped: true, invIndex: 1 },
        { id: 945, name: 'Raccoon Leaf', amount: 7, type: 3, equipped: false, invIndex: 2 },
      ],
      nearby_players: [{ name: 'Hollis', level: 57, guild: 'Nomads', distance: 9, is_party_member: false, job_class: 'Hunter' }],
      party_members: {},
    },
  };
}

/**
 * Game states the way the OpenKore plugin in the field sends them, in the situations a farm's bots
 * are in: the warm-ups run the engine's hot path on these so the branches the farm takes are warm.
 */
type PluginStateKind = 'farm' | 'hurt' | 'dying' | 'cornered' | 'empty' | 'heavy' | 'dead';

/**
 * A decide body's game state as the OpenKore plugin in the field builds it (docs/field-plugin.md
 * §4.3): skills by handle without id, monsters with `is_aggressive` only, players without id,
 * `party_members` `{}`, equipment slots as numbers or "unknown", raw values as numbers or
 * decimal strings — so the validator's and the answer mapping's branches the farm takes are warm.
 */
function pluginShapedGameState(name: string, i: number, kind: PluginStateKind): Record<string, unknown> {
  const text = i % 2 === 1;
  const raw = (n: number): number | string => (text ? String(n) : n);
  const monsters =
    kind === 'empty'
      ? []
      : [
          { id: 20 + (i % 7), name: 'Poring', hp: 0, max_hp: 0, distance: 3 + (i % 5), is_aggressive: kind === 'hurt' || kind === 'dying' || kind === 'cornered' },
          { id: 31, name: 'Drops', hp: 0, max_hp: 0, distance: 7, is_aggressive: false },
        ];
  const hp = kind === 'dead' ? 0 : kind === 'hurt' ? 300 : kind === 'dying' || kind === 'cornered' ? 90 : 800 - (i % 200);
  const inventory: Array<Record<string, unknown>> =
    kind === 'cornered'
      ? []
      : [
          { id: 501, name: 'Red Potion', amount: 5, type: kind === 'dying' ? 'misc' : raw(0), equipped: false, invIndex: 0 },
          { id: 909, name: 'Jellopy', amount: 12 + (i % 5), type: raw(3), equipped: false, invIndex: 1 },
          { id: 1116, name: 'Katana', amount: 1, type: raw(5), equipped: true, invIndex: 2 },
          { id: 601, name: 'Fly Wing', amount: 3, type: raw(2), equipped: false, invIndex: 3 },
        ];
  if (kind === 'dying') inventory.splice(0, 1);
  return {
    character: {
      name,
      level: 50 + (i % 40),
      job_level: 30,
      base_exp: 1_000 + i,
      base_exp_max: 90_000,
      job_exp: 0,
      job_exp_max: 40_000,
      hp,
      max_hp: 1000,
      sp: 150,
      max_sp: 200,
      points_free: 0,
      points_skill: 0,
      ...{ str: 50, agi: 40, vit: 20, int: 1, dex: 30, luk: 1 },
      ...{ points_str: 6, points_agi: 5, points_vit: 3, points_int: 2, points_dex: 4, points_luk: 2 },
      position: { map: i % 2 ? 'prt_fild08' : 'pay_fild04', x: 100 + (i % 50), y: 120 },
      weight: kind === 'heavy' ? 1900 : 300,
      max_weight: 2000,
      zeny: 5000 + i,
      job_class: 'Knight',
      status_effects: [],
      equipment: [
        { slot: raw(2), name: 'Katana', id: 1116 },
        { slot: 'unknown', name: 'Muffler', id: 2503 },
      ],
      guild: { name: '', id: '', position: '' },
      active_quests: 0,
    },
    skills: [
      { name: 'NV_BASIC', level: 9, sp_cost: 0 },
      { name: 'SM_BASH', level: 10, sp_cost: 15 },
    ],
    monsters,
    inventory,
    nearby_players: [{ name: 'Someone', level: 70, guild: '', distance: 8, is_party_member: false, job_class: 'Priest' }],
    party_members: {},
    timestamp_ms: Date.now(),
  };
}

/** The situations in the proportions the warm-ups cycle through (mostly farming). */
const PLUGIN_STATE_KINDS: readonly PluginStateKind[] = ['farm', 'farm', 'hurt', 'empty', 'farm', 'dying', 'heavy', 'cornered', 'farm', 'dead'];

/** A whole decide request body of the field plugin for `name` (docs/field-plugin.md §4.3). */
export function pluginShapedDecideBody(name: string, i: number): string {
  const kind = PLUGIN_STATE_KINDS[i % PLUGIN_STATE_KINDS.length];
  return JSON.stringify({ game_state: pluginShapedGameState(name, i, kind), request_id: `req_${Date.now()}_${i}`, timestamp_ms: Date.now() });
}

/** A game state shaped like the plugin in the field sends it (integer ids, max_hp, JSON booleans). */
export function pluginGameState(over: { name?: string; hp?: number; max_hp?: number; sp?: number; monsters?: unknown[]; inventory?: unknown[]; level?: number } = {}) {
  return {
    character: {
      name: over.name ?? 'Knight1',
      level: over.level ?? 50,
      hp: over.hp ?? 800,
      max_hp: over.max_hp ?? 1000,
      sp: over.sp ?? 150,
      max_sp: 200,
      position: { map: 'prt_fild08', x: 100, y: 120 },
      weight: 300,
      max_weight: 2000,
      zeny: 5000,
      job_class: 'Knight',
      is_sitting: false,
    },
    skills: [{ id: 5, name: 'Bash', level: 10, sp_cost: 15 }],
    monsters: over.monsters ?? [{ id: 1002, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false }],
    inventory: over.inventory ?? [{ id: 501, name: 'Red Potion', amount: 5, type: 'usable' }],
    nearby_players: [{ id: 150001, name: 'Someone', level: 70, distance: 8 }],
    party_members: [],
    timestamp_ms: Date.now(),
  };
}

export { PLUGIN_ACTIONS } from '../../src/modules/decision';

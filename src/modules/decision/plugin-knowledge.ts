import { planSale, type SellRow, type Tables } from '../progression';
import type { GameState } from '../state';
import type { PluginKnowledge } from './plugin-action';
import { BUILT_IN_HEALING } from './tiers/reflex.tier';

const NOTHING_KEPT = { ids: new Set<number>(), names: new Set<string>() };

/** What the decide answer's mapping needs from the data tables (the built-in healing ids before they load). */
export function pluginKnowledge(tables: Tables): PluginKnowledge {
  return {
    healing: tables.healing.size > 0 ? tables.healing : BUILT_IN_HEALING,
    holdsJunk: (state: Readonly<GameState>) => {
      const rows: SellRow[] = (state.inventory ?? []).map((i, index) => ({ index, id: i.id, name: i.name, amount: i.amount, type: i.type, invIndex: i.invIndex, equipped: i.equipped }));
      return planSale(tables, rows, NOTHING_KEPT).commands.length > 0;
    },
    skillHandle: (id) => tables.skillsById.get(id)?.handle,
  };
}

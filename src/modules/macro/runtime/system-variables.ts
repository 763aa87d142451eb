import type { GameState } from '../../state';
import { BOT_ONLY } from './expander';

/**
 * eventMacro's read-only special variables (eventMacro/Core.pm get_scalar_var), computed from
 * the session's latest game state. Those the state does not carry (cart, storage, the lock map,
 * spirits…) are only the bot's to know: BOT_ONLY. A name that is not special returns undefined
 * and reads as an ordinary variable (`$.param`, `$.lastMatch1`, `$.caller`…).
 */
export function systemVariable(name: string, state: Readonly<GameState> | undefined, now: Date = new Date()): string | typeof BOT_ONLY | undefined {
  switch (name) {
    case '.time':
      return String(Math.floor(now.getTime() / 1000));
    case '.datetime':
      return perlLocaltime(now);
    case '.second':
      return String(now.getSeconds());
    case '.minute':
      return String(now.getMinutes());
    case '.hour':
      return String(now.getHours());
    case '.dayofmonth':
      return String(now.getDate());
    case '.dayofweek':
      // eventMacro indexes Monday..Saturday, "Sunday+" with (day of week - 1): Sunday reads "Sunday+".
      return ['Sunday+', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][now.getDay()];
    case '.incity':
    case '.inlockmap':
    case '.spirits':
    case '.statushandle':
    case '.cartweight':
    case '.cartweightpercent':
    case '.cartmaxweight':
    case '.cartitems':
    case '.cartmaxitems':
    case '.shopopen':
    case '.storageopen':
    case '.storageitems':
    case '.storagemaxitems':
      return BOT_ONLY;
  }
  const c = state?.character;
  const int = (n: number | undefined) => String(Math.trunc(n ?? 0));
  switch (name) {
    case '.map':
      return c ? (c.position?.map ?? '') : BOT_ONLY;
    case '.job':
      return c ? (c.job_class ?? '') : BOT_ONLY;
    case '.pos':
      return c?.position ? `${Math.trunc(c.position.x)} ${Math.trunc(c.position.y)}` : BOT_ONLY;
    case '.name':
      return c ? c.name || '0' : BOT_ONLY;
    case '.hp':
      return c ? int(c.hp) : BOT_ONLY;
    case '.sp':
      return c ? int(c.sp) : BOT_ONLY;
    case '.lvl':
      return c ? int(c.level) : BOT_ONLY;
    case '.joblvl':
      return c ? int(c.job_level) : BOT_ONLY;
    case '.zeny':
      return c ? int(c.zeny) : BOT_ONLY;
    case '.weight':
      return c ? int(c.weight) : BOT_ONLY;
    case '.maxweight':
      return c ? int(c.max_weight) : BOT_ONLY;
    case '.weightpercent':
      if (!c) return BOT_ONLY;
      return c.weight !== undefined && c.max_weight ? int((c.weight * 100) / Math.trunc(c.max_weight)) : '0';
    case '.status': {
      if (!c) return BOT_ONLY;
      const names = new Set([...(c.is_dead ? ['dead'] : []), ...(c.status_effects ?? []), ...(c.buffs ?? [])]);
      return [...names].sort().join(',');
    }
    case '.inventoryitems':
      return state?.inventory ? String(state.inventory.length) : BOT_ONLY;
    default:
      return undefined;
  }
}

/** Perl's `scalar localtime`: "Thu Sep  9 12:00:00 2021". */
export function perlLocaltime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

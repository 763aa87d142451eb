import { type Action, ActionType } from '../../decision';

/**
 * Maps an OpenKore console command (the text of `do …`) to an engine action. Well-known
 * commands get their own action type; everything else is a SEND_COMMAND. Every action keeps
 * the console command in `params.command`, so a plugin that does not know a type can still
 * run the command as typed.
 */
export function commandToAction(command: string, reason: string): Action {
  const text = command.trim();
  const words = text.split(/\s+/);
  const verb = words[0].toLowerCase();
  const args = words.slice(1);
  const rest = text.slice(words[0].length).trim();
  const act = (type: ActionType, params: Record<string, unknown> = {}): Action => ({ type, params: { ...params, command: text }, reason });
  const int = (s: string | undefined) => (s !== undefined && /^\d{1,9}$/.test(s) ? Number(s) : undefined);

  switch (verb) {
    case 'move': {
      // move X Y | move MAP | move MAP X Y
      if (args.length === 2 && int(args[0]) !== undefined && int(args[1]) !== undefined) return act(ActionType.MOVE_TO, { x: int(args[0]), y: int(args[1]) });
      if (args.length === 1 && /^[A-Za-z][\w@.-]*$/.test(args[0])) return act(ActionType.MOVE_TO, { map: args[0] });
      if (args.length === 3 && int(args[1]) !== undefined && int(args[2]) !== undefined) {
        return act(ActionType.MOVE_TO, { map: args[0], x: int(args[1]), y: int(args[2]) });
      }
      break;
    }
    case 'sit':
      if (args.length === 0) return act(ActionType.SIT);
      break;
    case 'stand':
      if (args.length === 0) return act(ActionType.STAND);
      break;
    case 'a':
    case 'attack':
      if (args.length === 1 && int(args[0]) !== undefined) return act(ActionType.ATTACK, { target_index: int(args[0]) });
      break;
    case 'ss':
    case 'sm':
    case 'sp':
    case 'sl': {
      const skill = leadingName(rest);
      if (!skill) break;
      const nums = skill.rest.split(/\s+/).filter((w) => w !== '');
      if (!nums.every((n) => int(n) !== undefined)) break;
      const n = nums.map((w) => int(w)!);
      if (verb === 'ss' && n.length <= 1) return act(ActionType.USE_SKILL, { skill: skill.name, target_type: 'self', ...opt('level', n[0]) });
      if (verb === 'sm' && n.length >= 1 && n.length <= 2) {
        return act(ActionType.USE_SKILL, { skill: skill.name, target_type: 'monster', target_index: n[0], ...opt('level', n[1]) });
      }
      if (verb === 'sp' && n.length <= 2) {
        return act(ActionType.USE_SKILL, { skill: skill.name, target_type: 'player', ...opt('target_index', n[0]), ...opt('level', n[1]) });
      }
      if (verb === 'sl' && n.length >= 2 && n.length <= 3) {
        return act(ActionType.USE_SKILL, { skill: skill.name, target_type: 'location', x: n[0], y: n[1], ...opt('level', n[2]) });
      }
      break;
    }
    case 'is':
      if (rest !== '') return act(ActionType.USE_ITEM, { item: unquote(rest) });
      break;
    case 'take':
      if (args.length === 1 && int(args[0]) !== undefined) return act(ActionType.PICK_ITEM, { item_index: int(args[0]) });
      break;
    case 'talk':
      if (args.length === 1 && int(args[0]) !== undefined) return act(ActionType.TALK_NPC, { npc_index: int(args[0]) });
      break;
    case 'talknpc':
      if (args.length >= 2 && int(args[0]) !== undefined && int(args[1]) !== undefined) {
        return act(ActionType.TALK_NPC, { x: int(args[0]), y: int(args[1]), ...(args.length > 2 ? { sequence: args.slice(2).join(' ') } : {}) });
      }
      break;
    case 'tele':
    case 'teleport':
      if (args.length === 0) return act(ActionType.TELEPORT, { method: 'fly' });
      break;
    case 'respawn':
      if (args.length === 0) return act(ActionType.TELEPORT, { method: 'respawn' });
      break;
    case 'storage': {
      const sub = args[0]?.toLowerCase();
      if ((sub === 'add' || sub === 'get') && args.length >= 2) {
        const tail = rest.slice(args[0].length).trim();
        const amount = /\s(\d{1,9})$/.exec(tail);
        const item = unquote(amount ? tail.slice(0, amount.index).trim() : tail);
        if (item !== '') {
          return act(sub === 'add' ? ActionType.STORAGE_PUT : ActionType.STORAGE_GET, { item, ...opt('amount', amount ? Number(amount[1]) : undefined) });
        }
      }
      break;
    }
    case 'ai':
      if (args.length === 1 && ['on', 'off', 'manual', 'auto'].includes(args[0].toLowerCase())) return act(ActionType.CHANGE_STATE, { ai: args[0].toLowerCase() });
      break;
  }
  return act(ActionType.SEND_COMMAND);
}

function opt(key: string, value: number | undefined): Record<string, number> {
  return value === undefined ? {} : { [key]: value };
}

/** A quoted name (`"Heal"`), or the first word: the skill of `ss`/`sm`/`sp`/`sl`. */
function leadingName(text: string): { name: string; rest: string } | undefined {
  const quoted = /^"([^"]+)"\s*(.*)$/.exec(text);
  if (quoted) return { name: quoted[1], rest: quoted[2] };
  const word = /^(\S+)\s*(.*)$/.exec(text);
  return word ? { name: word[1], rest: word[2] } : undefined;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

import { ActionType } from '../../decision';
import { commandToAction } from './command-actions';

describe('commandToAction', () => {
  const map = (cmd: string) => {
    const a = commandToAction(cmd, 'r');
    return { type: a.type, params: a.params };
  };

  it('maps well-known console commands to their action types, keeping the command', () => {
    expect(map('move 100 120')).toEqual({ type: ActionType.MOVE_TO, params: { x: 100, y: 120, command: 'move 100 120' } });
    expect(map('move prontera')).toMatchObject({ type: ActionType.MOVE_TO, params: { map: 'prontera' } });
    expect(map('move prontera 146 89')).toMatchObject({ type: ActionType.MOVE_TO, params: { map: 'prontera', x: 146, y: 89 } });
    expect(map('sit').type).toBe(ActionType.SIT);
    expect(map('stand').type).toBe(ActionType.STAND);
    expect(map('attack 2')).toMatchObject({ type: ActionType.ATTACK, params: { target_index: 2 } });
    expect(map('a 0')).toMatchObject({ type: ActionType.ATTACK, params: { target_index: 0 } });
    expect(map('ss "Heal" 10')).toMatchObject({ type: ActionType.USE_SKILL, params: { skill: 'Heal', target_type: 'self', level: 10 } });
    expect(map('sm Bash 0 10')).toMatchObject({ type: ActionType.USE_SKILL, params: { skill: 'Bash', target_type: 'monster', target_index: 0, level: 10 } });
    expect(map('sp "Blessing" 3 10')).toMatchObject({ type: ActionType.USE_SKILL, params: { target_type: 'player', target_index: 3 } });
    expect(map('sl "Storm Gust" 100 120 10')).toMatchObject({ type: ActionType.USE_SKILL, params: { target_type: 'location', x: 100, y: 120, level: 10 } });
    expect(map('is Red Potion')).toMatchObject({ type: ActionType.USE_ITEM, params: { item: 'Red Potion' } });
    expect(map('take 1')).toMatchObject({ type: ActionType.PICK_ITEM, params: { item_index: 1 } });
    expect(map('talknpc 151 29 c r0')).toMatchObject({ type: ActionType.TALK_NPC, params: { x: 151, y: 29, sequence: 'c r0' } });
    expect(map('tele')).toMatchObject({ type: ActionType.TELEPORT, params: { method: 'fly' } });
    expect(map('respawn')).toMatchObject({ type: ActionType.TELEPORT, params: { method: 'respawn' } });
    expect(map('storage add Jellopy 10')).toMatchObject({ type: ActionType.STORAGE_PUT, params: { item: 'Jellopy', amount: 10 } });
    expect(map('storage get "Red Potion"')).toMatchObject({ type: ActionType.STORAGE_GET, params: { item: 'Red Potion' } });
    expect(map('ai manual')).toMatchObject({ type: ActionType.CHANGE_STATE, params: { ai: 'manual' } });
  });

  it('sends anything else (or a malformed well-known command) as a console command', () => {
    expect(map('c hello world')).toEqual({ type: ActionType.SEND_COMMAND, params: { command: 'c hello world' } });
    expect(map('move north')).toMatchObject({ type: ActionType.MOVE_TO, params: { map: 'north' } });
    expect(map('move 1 2 3 4').type).toBe(ActionType.SEND_COMMAND);
    expect(map('attack monster').type).toBe(ActionType.SEND_COMMAND);
    expect(map('storage').type).toBe(ActionType.SEND_COMMAND);
    expect(commandToAction('sit', 'macro m v1 line 3').reason).toBe('macro m v1 line 3');
  });
});

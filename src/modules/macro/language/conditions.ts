import { parseList, parseNumeric, parseRegex, type ParseResult } from './condition-validators';
import { findVariable, perlSplit, type VariableRef, WIDER_VARIABLE } from './variables';

/**
 * Every condition type of eventMacro (one module per type in eventMacro/Condition/), with the
 * syntax its `_parse_syntax` accepts and whether it is an event (at most one per automacro).
 * A key that names no module makes eventMacro's loader die: the whole file is refused.
 */

export type ConditionShape =
  | 'numeric'
  | 'list'
  | 'regex'
  | 'regex+numeric'
  | 'regex+regex'
  | 'regex+regex+numeric'
  | 'item-name'
  | 'item-id'
  | 'flag'
  | 'config-pairs'
  | 'members'
  | 'two-keys'
  | 'anything'
  | 'eval-hook'
  | 'equipment'
  | 'map-coordinates'
  | 'coordinates'
  | 'one-coordinate'
  | 'map-one-coordinate'
  | 'close-to'
  | 'map-close-to'
  | 'job-ids'
  | 'job-id'
  | 'quest-ids'
  | 'quest-hunts'
  | 'hooks'
  | 'variable-values'
  | 'skill-level'
  | 'stats'
  | 'pvp-modes'
  | 'one-map';

export interface ConditionType {
  key: string;
  shape: ConditionShape;
  /** Triggered by an event (eventMacro's EVENT_TYPE): at most one per automacro. */
  event: boolean;
  /** Perl code only the bot can run. */
  botOnly?: boolean;
  /** An internal base class eventMacro still loads when named (`Base::Msg`). */
  base?: boolean;
  /** What the engine tells an operator about the value it wants. */
  doc: string;
}

const NUMERIC_DOC = 'a comparison: "< 50", ">= 10%", "10..20", "$var"';
const REGEX_DOC = 'a regex: "/Poring/" or "/poring/i"';

const TYPES: ConditionType[] = [];
function def(shape: ConditionShape, event: boolean, doc: string, ...keys: string[]): void {
  for (const key of keys) TYPES.push({ key, shape, event, doc, ...(key.startsWith('Base::') ? { base: true } : {}) });
}

// Numeric comparisons (Conditiontypes/NumericCondition*.pm).
def('numeric', false, NUMERIC_DOC,
  'BaseLevel', 'CartCurrentSize', 'CartCurrentWeight', 'CartMaxSize', 'CartMaxWeight', 'CharCurrentWeight', 'CharMaxWeight',
  'CurrentHP', 'CurrentSP', 'FreeSkillPoints', 'FreeStatPoints', 'InventoryCurrentSize', 'JobLevel', 'MaxHP', 'MaxSP', 'Spirits', 'Zeny',
  'MobNearCount', 'NpcNearCount', 'PlayerNearCount', 'PortalNearCount', 'Base::ActorNearCount');
def('numeric', true, NUMERIC_DOC, 'ZenyChanged');
def('skill-level', false, 'a skill ID or handle and a comparison: "AL_HEAL >= 5"', 'SkillLevel');
// List membership (Conditiontypes/ListCondition*.pm).
def('list', false, 'names separated by commas, or "any"', 'InMap');
def('list', true, 'names separated by commas, or "any"', 'AttackEnd', 'AttackStart', 'MapLoaded');
def('one-map', false, 'one map name (no commas)', 'NotInMap');
def('stats', true, 'stats separated by commas: str, agi, vit, int, dex, luk', 'StatAdded');
def('pvp-modes', false, 'modes separated by commas: pvp, gvg, battleground', 'InPvP');
// Regexes (Conditiontypes/RegexCondition*.pm).
def('regex', false, REGEX_DOC,
  'ChatRoomNear', 'InMapRegex', 'MobNear', 'NpcNear', 'PlayerNear', 'MobNotNear', 'NpcNotNear', 'PlayerNotNear', 'Base::ActorNear', 'Base::ActorNotNear');
def('regex', true, REGEX_DOC,
  'AttackStartRegex', 'BusMsg', 'Console', 'GuildMsg', 'LocalMsg', 'NpcMsg', 'PartyMsg', 'PrivMsg', 'PubMsg', 'SystemMsg', 'Base::Msg');
def('regex+numeric', false, 'a name regex and a distance comparison: "/Poring/ < 5"', 'MobNearDist', 'NpcNearDist', 'PlayerNearDist', 'Base::ActorNearDist');
def('regex+numeric', true, 'a message regex and a distance comparison: "/hi/ < 5"',
  'GuildMsgDist', 'NpcMsgDist', 'PartyMsgDist', 'PrivMsgDist', 'PubMsgDist', 'Base::MsgDist');
def('regex+regex', true, 'a message regex and a name regex: "/hi/ /Bob/"',
  'GuildMsgName', 'NpcMsgName', 'PartyMsgName', 'PrivMsgName', 'PubMsgName', 'Base::MsgName');
def('regex+regex+numeric', true, 'a message regex, a name regex and a distance: "/hi/ /Bob/ < 5"',
  'GuildMsgNameDist', 'NpcMsgNameDist', 'PartyMsgNameDist', 'PrivMsgNameDist', 'PubMsgNameDist', 'Base::MsgNameDist');
// Items (Condition/Base/Inventory.pm and its children).
def('item-name', false, 'quoted item names with a comparison, separated by commas: "\\"Red Potion\\" > 5"', 'InCart', 'InInventory', 'InStorage');
def('item-id', false, 'item IDs with a comparison, separated by commas: "501 > 5"', 'InCartID', 'InInventoryID', 'InStorageID');
def('anything', false, 'any value (eventMacro does not read it)', 'Base::Inventory', 'Base::InCart', 'Base::InInventory', 'Base::InStorage');
// States given as 0 or 1.
def('flag', false, '0 or 1',
  'InChatRoom', 'InCity', 'InLockMap', 'InProgressBar', 'InSaveMap', 'InventoryReady', 'ShopOpened', 'StorageOpened', 'isAlive');
// Configuration keys.
def('config-pairs', false, 'config keys with the value wanted, separated by commas: "attackAuto 2"', 'ConfigKey', 'ConfigKeyNot');
def('members', false, 'names separated by commas', 'ConfigKeyDefined', 'ConfigKeyNotExist', 'ConfigKeyUndefined', 'StatusActiveHandle', 'StatusInactiveHandle');
def('two-keys', false, 'two config keys separated by a space', 'ConfigKeyDualDifferentDefinedValue', 'ConfigKeyDualSameDefinedValue');
// Perl.
TYPES.push({ key: 'Eval', shape: 'anything', event: false, botOnly: true, doc: 'Perl code the bot evaluates' });
TYPES.push({ key: 'EvalHook', shape: 'eval-hook', event: false, botOnly: true, doc: 'hook names, a colon, and Perl code: "packet_mapChange : $field->baseName eq \'prontera\'"' });
def('hooks', true, 'hook names separated by commas', 'SimpleHookEvent');
def('anything', false, 'any value (eventMacro does not read it)', 'NoMobNear', 'NoNpcNear', 'NoPlayerNear', 'NoPortalNear', 'Base::NoActorNear');
def('anything', true, 'any value (eventMacro does not read it)', 'OnCharLogIn');
// Equipment.
def('equipment', false, 'equipment slots with an item ID, separated by commas: "rightHand 1201"', 'IsEquippedID', 'IsNotEquippedID');
// Position.
def('map-coordinates', false, 'maps and/or coordinates, separated by commas: "prontera 150 180, 100..110 200"', 'IsInMapAndCoordinate');
def('coordinates', false, 'coordinates only (digits, spaces, commas, dots): "150 180"', 'IsInCoordinate');
def('one-coordinate', false, 'one coordinate (no commas): "150 180"', 'IsNotInCoordinate');
def('map-one-coordinate', false, 'one map and/or coordinate (no commas): "prontera 150 180"', 'IsNotInMapAndCoordinate');
def('close-to', false, 'x, y and a distance: "150 180 5"', 'isCloseToCoordinate', 'isNotCloseToCoordinate');
def('map-close-to', false, 'a map, x, y and a distance: "prontera 150 180 5"', 'isInMapAndCloseToCoordinate', 'isNotInMapOrNotCloseToCoordinate');
// Job, quests, variables.
def('job-ids', false, 'job IDs separated by commas', 'JobID');
def('job-id', false, 'one job ID', 'JobIDNot');
def('quest-ids', false, 'quest IDs separated by commas',
  'QuestActive', 'QuestAllListInactive', 'QuestComplete', 'QuestInactive', 'QuestIncomplete', 'QuestNotComplete', 'QuestNotIncomplete', 'QuestOnTime',
  'QuestTimeOverdue', 'Base::Quest');
def('quest-hunts', false, 'quest ID and monster ID pairs, separated by commas: "1000 1002"', 'QuestHuntCompleted', 'QuestHuntOngoing');
def('variable-values', false, 'variables with the value wanted, separated by commas: "$state done"', 'VarValue');

export const CONDITION_TYPES: ReadonlyMap<string, ConditionType> = new Map(TYPES.map((t) => [t.key, t]));

/** The 122 condition types eventMacro ships (the `Base::` classes excluded). */
export const PUBLIC_CONDITION_TYPES: readonly ConditionType[] = TYPES.filter((t) => !t.base);

/** Equipment slot names (OpenKore's %equipSlot_rlut). */
const EQUIPMENT_SLOTS = new Set([
  'Item', 'lowHead', 'rightHand', 'robe', 'rightAccessory', 'armor', 'leftHand', 'shoes', 'leftAccessory', 'topHead', 'midHead', 'costumeTopHead',
  'costumeMidHead', 'costumeLowHead', 'costumeRobe', 'costumeFloor', 'arrow', 'shadowArmor', 'shadowRightHand', 'shadowLeftHand', 'shadowShoes',
  'shadowRightAccessory', 'shadowLeftAccessory',
]);
const STATS = new Set(['str', 'agi', 'vit', 'int', 'dex', 'luk']);
const PVP_MODES = new Set(['pvp', 'gvg', 'battleground']);
/** Perl's `\w` on text: letters, digits, marks and connectors of any script. */
const WORD = String.raw`\p{L}\p{N}\p{M}\p{Pc}`;

const ok = (variables: VariableRef[] = []): ParseResult => ({ variables });
const fail = (error: string): ParseResult => ({ error, variables: [] });
const members = (text: string) => perlSplit(text, /\s*,\s*/);

function collect(into: VariableRef[], ...vars: Array<VariableRef | undefined>): void {
  for (const v of vars) if (v && !into.some((x) => x.display === v.display)) into.push(v);
}

function chain(...results: ParseResult[]): ParseResult {
  const variables: VariableRef[] = [];
  for (const r of results) {
    if (r.error !== undefined) return r;
    collect(variables, ...r.variables);
  }
  return ok(variables);
}

/** Parses a condition value as its module does; an error means eventMacro ignores the automacro. */
export function parseConditionValue(type: ConditionType, value: string): ParseResult {
  switch (type.shape) {
    case 'numeric':
      return parseNumeric(value);
    case 'list':
      return parseList(value);
    case 'regex':
      return parseRegex(value);
    case 'one-map':
      return value.includes(',') ? fail("You can't use comma separated values on this Condition") : parseList(value);
    case 'stats':
    case 'pvp-modes': {
      const allowed = type.shape === 'stats' ? STATS : PVP_MODES;
      for (const m of members(value)) if (!allowed.has(m)) return fail(`The list member '${m}' is not a valid stat`);
      return parseList(value);
    }
    case 'regex+numeric':
    case 'regex+regex': {
      const m = /^(\/.*?\/\w?)\s+(.*?)$/.exec(value);
      if (!m) return fail(`Condition code '${value}' must have ${type.shape === 'regex+regex' ? 'a message regex and a name regex' : 'a regex and a distance comparison'} defined`);
      return chain(parseRegex(m[1]), type.shape === 'regex+regex' ? parseRegex(m[2]) : parseNumeric(m[2]));
    }
    case 'regex+regex+numeric': {
      const m = /^(\/.*?\/\w?)\s+(\/.*?\/\w?)\s+(.*?)$/.exec(value);
      if (!m) return fail(`Condition code '${value}' must have a message regex, a name regex and a numeric comparison defined`);
      return chain(parseRegex(m[1]), parseRegex(m[2]), parseNumeric(m[3]));
    }
    case 'item-name':
    case 'item-id': {
      const pattern = type.shape === 'item-name' ? /"(.+)"\s+(\S.*)/ : /^(\d+)\s+(\S.*)$/;
      const message = type.shape === 'item-name' ? 'Item name must be inside quotation marks and a numeric comparison must be given' : 'Item ID must and a numeric comparison must be given';
      const variables: VariableRef[] = [];
      let count = 0;
      for (const member of members(value)) {
        if (member === '') continue;
        const m = pattern.exec(member);
        if (!m) return fail(message);
        const r = parseNumeric(m[2]);
        if (r.error !== undefined) return r;
        collect(variables, ...r.variables);
        count++;
      }
      return count === 0 ? fail(message) : ok(variables);
    }
    case 'flag':
      return /^[01]$/.test(value) ? ok() : fail(`Value '${value}' should be '0' or '1'`);
    case 'config-pairs': {
      const variables: VariableRef[] = [];
      const pair = new RegExp(String.raw`^([\w.]+|${WIDER_VARIABLE})\s+(\S.*)$`, 'i');
      for (const member of members(value)) {
        const m = pair.exec(member);
        if (!m) return fail(`List Member '${member}' must be a pair of 'config key' and 'config value'`);
        collect(variables, findVariable(m[1]), findVariable(m[2]));
      }
      return ok(variables);
    }
    case 'members': {
      const variables: VariableRef[] = [];
      for (const member of members(value)) collect(variables, findVariable(member));
      return ok(variables);
    }
    case 'two-keys':
      return perlSplit(value, /\s+/).length === 2 ? ok() : fail(`Value '${value}' should be 2 config keys`);
    case 'anything':
      return ok();
    case 'eval-hook': {
      const m = /^\s*([\w:]+(?:\s*,\s*[\w:]+)*)\s*:\s*(\{.*\}|\S.*)/s.exec(value);
      if (!m) return fail('Invalid syntax for EvalHook condition. Expected format: <hook1>,<hook2> : <hook_code>');
      for (const hook of perlSplit(m[1].trim(), /\s*,\s*/)) if (findVariable(hook)) return fail('In this condition no variables are accepted');
      return ok();
    }
    case 'hooks':
      for (const hook of members(value)) if (findVariable(hook)) return fail('In this condition no variables are accepted');
      return ok();
    case 'equipment': {
      const variables: VariableRef[] = [];
      for (const member of members(value)) {
        const [slot, id] = perlSplit(member, /\s+/);
        if (slot === undefined || id === undefined) return fail(`List member '${member}' must have a slot and an ID defined`);
        const slotVar = findVariable(slot);
        if (!slotVar && !EQUIPMENT_SLOTS.has(slot)) return fail(`List member '${member}' has a equipment slot value '${slot}' not valid`);
        const idVar = findVariable(id);
        if (!idVar && !/^\d+$/.test(id)) return fail(`List member '${member}' has a equipment ID value '${id}' not valid`);
        collect(variables, slotVar, idVar);
      }
      return ok(variables);
    }
    case 'coordinates':
      return /[^\d\s,.]/.test(value) ? fail('This Condition only accept coordinates') : mapCoordinates(value);
    case 'one-coordinate':
      if (value.includes(',')) return fail("You can't use comma separated values on this Condition");
      return /[^\d\s,.]/.test(value) ? fail('This Condition only accept coordinates') : mapCoordinates(value);
    case 'map-one-coordinate':
      return value.includes(',') ? fail("You can't use comma separated values on this Condition") : mapCoordinates(value);
    case 'map-coordinates':
      return mapCoordinates(value);
    case 'close-to':
      return /^(\d+)\s+(\d+)\s+(\d+)$/.test(value) ? ok() : fail('Invalid condition sintax');
    case 'map-close-to':
      return new RegExp(String.raw`^([${WORD}-]+)\s+(\d+)\s+(\d+)\s+(\d+)$`, 'u').test(value) ? ok() : fail('Invalid condition sintax');
    case 'job-ids':
    case 'quest-ids': {
      const variables: VariableRef[] = [];
      for (const member of members(value)) {
        const v = findVariable(member);
        if (v) collect(variables, v);
        else if (!/^\d+$/.test(member)) return fail(`List member '${member}' must be a ${type.shape === 'job-ids' ? 'job' : 'quest'} ID or a variable name`);
      }
      return ok(variables);
    }
    case 'job-id': {
      const v = findVariable(value);
      if (v) return ok([v]);
      return /^\d+$/.test(value) ? ok() : fail(`Job ID '${value}' must be a ID number or a variable`);
    }
    case 'quest-hunts': {
      const variables: VariableRef[] = [];
      for (const member of members(value)) {
        const [quest, mob] = perlSplit(member, /\s+/);
        if (quest === undefined || mob === undefined) return fail(`List member '${member}' must have a slot and an ID defined`);
        for (const [what, id] of [['quest', quest], ['mob', mob]] as const) {
          const v = findVariable(id);
          if (v) collect(variables, v);
          else if (!/^\d+$/.test(id)) return fail(`List member '${member}' has an invalid ${what} ID '${id}'`);
        }
      }
      return ok(variables);
    }
    case 'variable-values': {
      const variables: VariableRef[] = [];
      const head = new RegExp(`^(${WIDER_VARIABLE})`);
      for (const member of members(value)) {
        const m = head.exec(member);
        if (!m) return fail(`There must be a variable on each member (Found: '${member}')`);
        const v = findVariable(m[1]);
        const display = v?.display ?? '';
        if (!member.startsWith(display) || !/^\s+\S/.test(member.slice(display.length))) return fail('You must set the wanted var value');
        collect(variables, v);
      }
      return ok(variables);
    }
    case 'skill-level': {
      const m = /^(\S+)\s+(\S.*)$/.exec(value);
      if (!m) return fail(`Value '${value}' a pair of skill ID/handle and wanted level`);
      return parseNumeric(m[2]);
    }
  }
}

/** `map`, `x y`, `map x y` members separated by commas, x and y numeric comparisons (IsInMapAndCoordinate.pm). */
function mapCoordinates(value: string): ParseResult {
  const variables: VariableRef[] = [];
  for (const member of members(value)) {
    const parts = perlSplit(member, /\s+/);
    if (parts.length === 0 || parts.length > 3) return fail(`List member '${member}' must have a map and/or a coordinate`);
    const coords = parts.length === 1 ? [] : parts.slice(-2);
    for (const c of coords) {
      const r = parseNumeric(c);
      if (r.error !== undefined) return r;
      collect(variables, ...r.variables);
    }
    if (parts.length !== 2) collect(variables, findVariable(parts[0]));
  }
  return ok(variables);
}

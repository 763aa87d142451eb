import { ReputationTier, tierAtLeast } from './reputation.rules';

/** What the engine knows about the other player when it decides. */
export interface PlayerStanding {
  tier: ReputationTier;
  isFriend: boolean;
  isGuildMember: boolean;
  isWhitelisted: boolean;
  isBlacklisted: boolean;
}

export interface ChatInput {
  characterName: string;
  playerName: string;
  message: string;
  /** As the plugin sends it: whisper | public | party | guild (anything else counts as a whisper). */
  messageType?: string | null;
  myLevel?: number | null;
  myJob?: string | null;
}

export type ChatChannel = 'pm' | 'public' | 'party';

export type ChatDecision =
  | { action: 'chat_response'; message: string; channel: ChatChannel; rule: string; reason: string }
  | { action: 'none'; rule: string; reason: string };

export type PartyDecision = { action: 'accept_party' | 'decline_party'; rule: string; reason: string };

const TRADE = /\b(trade|trading|deal|wts|wtb|buy|buying|sell|selling|zeny|price)\b/i;
const LEVEL = /\b(lvl|level|lv)\b/i;
const JOB = /\b(job|class)\b/i;
const QUESTION = /\?|\b(what|which|your|ur)\b/i;
const GREETING = /\b(hi|hello|hey|heya|hiya|howdy|greetings|yo|good\s+(morning|afternoon|evening))\b/i;
const THANKS = /\b(thanks|thank\s+you|thx|ty)\b/i;

/** The plugin can send whispers, public and party chat; a guild mention is answered by whisper. */
export function replyChannel(messageType: string | null | undefined): ChatChannel {
  const t = (messageType ?? '').toLowerCase();
  if (t === 'public') return 'public';
  if (t === 'party') return 'party';
  return 'pm';
}

function isBlocked(p: PlayerStanding): boolean {
  return p.isBlacklisted || p.tier === ReputationTier.BLOCKED;
}

/**
 * Rule-based, deterministic chat replies (first matching rule wins):
 *  1. blacklisted or Blocked player          → none (ignored)
 *  2. empty message                          → none
 *  3. public/party/guild without our name    → none (not addressed to us)
 *  4. trade talk: Friendly or better         → "Sure, open a trade window."
 *                 below Friendly             → "Sorry, not trading right now." (declined)
 *  5. Suspicious player (anything else)      → none (we do not engage)
 *  6. question about level (level known)     → "I'm level N."
 *  7. question about job (job known)         → "I'm a JOB."
 *  8. greeting: Friendly or better           → "Hey NAME! Good to see you."
 *              otherwise                     → "Hi!"
 *  9. thanks                                 → "No problem!"
 * 10. anything else                          → none
 */
export function decideChat(input: ChatInput, player: PlayerStanding): ChatDecision {
  const message = input.message.trim();
  const channel = replyChannel(input.messageType);
  const reply = (rule: string, text: string, reason: string): ChatDecision => ({ action: 'chat_response', message: text, channel, rule, reason });
  const none = (rule: string, reason: string): ChatDecision => ({ action: 'none', rule, reason });

  if (isBlocked(player)) return none('blocked', `ignoring ${input.playerName}: ${player.isBlacklisted ? 'blacklisted' : 'Blocked tier'}`);
  if (message.length === 0) return none('empty', 'empty message');
  const type = (input.messageType ?? 'whisper').toLowerCase();
  if (['public', 'party', 'guild'].includes(type) && !message.toLowerCase().includes(input.characterName.toLowerCase())) {
    return none('not_addressed', `${type} message does not mention ${input.characterName}`);
  }
  if (TRADE.test(message)) {
    return tierAtLeast(player.tier, ReputationTier.FRIENDLY)
      ? reply('trade_accept', 'Sure, open a trade window.', `trade talk from a ${player.tier} player`)
      : reply('trade_decline', 'Sorry, not trading right now.', `trade declined: ${player.tier} is below Friendly`);
  }
  if (player.tier === ReputationTier.SUSPICIOUS) return none('suspicious', `not engaging with a Suspicious player`);
  if (LEVEL.test(message) && QUESTION.test(message) && input.myLevel !== undefined && input.myLevel !== null) {
    return reply('level', `I'm level ${input.myLevel}.`, 'asked about my level');
  }
  if (JOB.test(message) && QUESTION.test(message) && input.myJob) {
    return reply('job', `I'm a ${input.myJob}.`, 'asked about my job');
  }
  if (GREETING.test(message)) {
    return tierAtLeast(player.tier, ReputationTier.FRIENDLY)
      ? reply('greeting', `Hey ${input.playerName}! Good to see you.`, `greeting from a ${player.tier} player`)
      : reply('greeting', 'Hi!', `greeting from a ${player.tier} player`);
  }
  if (THANKS.test(message)) return reply('thanks', 'No problem!', 'thanked');
  return none('no_rule', 'no reply rule matched');
}

/**
 * Party invitations (first matching rule wins):
 *  1. blacklisted or Blocked                  → decline
 *  2. whitelisted, friend or guild member     → accept
 *  3. Acquaintance or better (score ≥ 25)     → accept
 *  4. anyone else (strangers start Neutral)   → decline
 */
export function decidePartyInvite(playerName: string, player: PlayerStanding): PartyDecision {
  if (isBlocked(player)) return { action: 'decline_party', rule: 'blocked', reason: `${playerName} is ${player.isBlacklisted ? 'blacklisted' : 'Blocked'}` };
  if (player.isWhitelisted || player.isFriend || player.isGuildMember) {
    const why = player.isWhitelisted ? 'whitelisted' : player.isFriend ? 'a friend' : 'a guild member';
    return { action: 'accept_party', rule: 'trusted_relation', reason: `${playerName} is ${why}` };
  }
  if (tierAtLeast(player.tier, ReputationTier.ACQUAINTANCE)) {
    return { action: 'accept_party', rule: 'tier', reason: `${playerName} is ${player.tier}` };
  }
  return { action: 'decline_party', rule: 'tier', reason: `${playerName} is ${player.tier}, below Acquaintance` };
}

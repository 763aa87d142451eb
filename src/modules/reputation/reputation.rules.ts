/** Reputation scores live in [-100, 100] (docs/architecture.md "Data: reputation"). */
export const MIN_SCORE = -100;
export const MAX_SCORE = 100;
/** A single adjustment moves the score by at most this much either way. */
export const MAX_DELTA = 100;

export const ReputationTier = {
  WHITELISTED: 'Whitelisted',
  TRUSTED: 'Trusted',
  FRIENDLY: 'Friendly',
  ACQUAINTANCE: 'Acquaintance',
  NEUTRAL: 'Neutral',
  SUSPICIOUS: 'Suspicious',
  BLOCKED: 'Blocked',
} as const;
export type ReputationTier = (typeof ReputationTier)[keyof typeof ReputationTier];

/** Tier thresholds, highest first: a score gets the first tier whose minimum it reaches. */
export const TIERS: ReadonlyArray<{ tier: ReputationTier; min: number }> = [
  { tier: ReputationTier.WHITELISTED, min: 100 },
  { tier: ReputationTier.TRUSTED, min: 75 },
  { tier: ReputationTier.FRIENDLY, min: 50 },
  { tier: ReputationTier.ACQUAINTANCE, min: 25 },
  { tier: ReputationTier.NEUTRAL, min: -9 },
  { tier: ReputationTier.SUSPICIOUS, min: -50 },
  { tier: ReputationTier.BLOCKED, min: -Infinity },
];

/** Lowest tier first: the position of a tier in this list is its rank. */
export const TIER_RANK: Readonly<Record<ReputationTier, number>> = Object.fromEntries(
  [...TIERS].reverse().map((t, i) => [t.tier, i]),
) as Record<ReputationTier, number>;

export function clampScore(score: number): number {
  return Math.max(MIN_SCORE, Math.min(MAX_SCORE, Math.trunc(score)));
}

export function deriveTier(score: number): ReputationTier {
  for (const { tier, min } of TIERS) if (score >= min) return tier;
  return ReputationTier.BLOCKED;
}

export function tierAtLeast(tier: ReputationTier, floor: ReputationTier): boolean {
  return TIER_RANK[tier] >= TIER_RANK[floor];
}

export interface ScoreChange {
  scoreBefore: number;
  scoreAfter: number;
  /** What the score actually moved (the request clamped at the bounds). */
  appliedDelta: number;
  tierBefore: ReputationTier;
  tierAfter: ReputationTier;
}

/** The pure core of an adjustment: clamp, derive the tier. */
export function applyDelta(scoreBefore: number, delta: number): ScoreChange {
  const before = clampScore(scoreBefore);
  const after = clampScore(before + delta);
  return { scoreBefore: before, scoreAfter: after, appliedDelta: after - before, tierBefore: deriveTier(before), tierAfter: deriveTier(after) };
}

export interface InteractionRule {
  delta: number;
  description: string;
}

/**
 * `POST /social/interaction` events and what each does to the score. Deliberately small and
 * explicit; an unknown event is a 400 that lists these names. `chat_message` and `party_invite`
 * are what the compatibility routes record (they change nothing but the interaction count).
 */
export const INTERACTION_RULES = {
  gift_received: { delta: 10, description: 'Gave us items or zeny for nothing' },
  resurrected_me: { delta: 8, description: 'Resurrected our character' },
  fair_trade: { delta: 5, description: 'Completed a fair trade' },
  party_help: { delta: 3, description: 'Helped in a party (kills, tanking, loot shared fairly)' },
  heal_received: { delta: 2, description: 'Healed our character unasked' },
  buff_received: { delta: 2, description: 'Buffed our character unasked' },
  friendly_chat: { delta: 1, description: 'A friendly conversation' },
  chat_message: { delta: 0, description: 'Sent us a chat message (recorded by POST /social/chat)' },
  party_invite: { delta: 0, description: 'Invited us to a party (recorded by POST /social/party_invite)' },
  spam: { delta: -5, description: 'Spammed chat or trade requests' },
  kill_steal: { delta: -10, description: 'Stole a monster we were fighting' },
  harassment: { delta: -15, description: 'Insults, trains, blocking our path' },
  attempted_scam: { delta: -30, description: 'Tried to scam us (bait trade, fake deal)' },
  pk_attempt: { delta: -40, description: 'Attacked us (PvP outside a duel)' },
  pk_kill: { delta: -60, description: 'Killed our character' },
} as const satisfies Record<string, InteractionRule>;

export type InteractionEvent = keyof typeof INTERACTION_RULES;
export const INTERACTION_EVENTS = Object.keys(INTERACTION_RULES) as InteractionEvent[];

export function isInteractionEvent(event: string): event is InteractionEvent {
  return Object.hasOwn(INTERACTION_RULES, event);
}

import fc from 'fast-check';
import {
  applyDelta,
  clampScore,
  deriveTier,
  INTERACTION_EVENTS,
  INTERACTION_RULES,
  isInteractionEvent,
  MAX_DELTA,
  MAX_SCORE,
  MIN_SCORE,
  ReputationTier,
  TIER_RANK,
  TIERS,
  tierAtLeast,
} from './reputation.rules';

describe('reputation tiers', () => {
  it.each<[number, ReputationTier]>([
    [100, 'Whitelisted'],
    [99, 'Trusted'],
    [75, 'Trusted'],
    [74, 'Friendly'],
    [50, 'Friendly'],
    [49, 'Acquaintance'],
    [25, 'Acquaintance'],
    [24, 'Neutral'],
    [0, 'Neutral'],
    [-9, 'Neutral'],
    [-10, 'Suspicious'],
    [-50, 'Suspicious'],
    [-51, 'Blocked'],
    [-100, 'Blocked'],
  ])('score %i is %s (docs/architecture.md "Data: reputation" thresholds)', (score, tier) => {
    expect(deriveTier(score)).toBe(tier);
  });

  it('is monotonic in the score', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(TIER_RANK[deriveTier(lo)]).toBeLessThanOrEqual(TIER_RANK[deriveTier(hi)]);
      }),
    );
  });

  it('ranks every tier once, Blocked lowest and Whitelisted highest', () => {
    expect(new Set(Object.values(TIER_RANK)).size).toBe(TIERS.length);
    expect(TIER_RANK.Blocked).toBe(0);
    expect(TIER_RANK.Whitelisted).toBe(TIERS.length - 1);
    expect(tierAtLeast('Friendly', 'Acquaintance')).toBe(true);
    expect(tierAtLeast('Neutral', 'Acquaintance')).toBe(false);
  });
});

describe('score clamping', () => {
  it('clamps at the bounds and keeps integers inside them', () => {
    expect(clampScore(101)).toBe(MAX_SCORE);
    expect(clampScore(-101)).toBe(MIN_SCORE);
    expect(clampScore(100)).toBe(100);
    expect(clampScore(-100)).toBe(-100);
    expect(clampScore(42)).toBe(42);
  });

  it('keeps any sequence of adjustments within [-100, 100], each applied delta the exact move', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -MAX_DELTA, max: MAX_DELTA }), { maxLength: 200 }), (deltas) => {
        let score = 0;
        for (const delta of deltas) {
          const change = applyDelta(score, delta);
          expect(change.scoreAfter).toBeGreaterThanOrEqual(MIN_SCORE);
          expect(change.scoreAfter).toBeLessThanOrEqual(MAX_SCORE);
          expect(change.scoreAfter - change.scoreBefore).toBe(change.appliedDelta);
          expect(Math.abs(change.appliedDelta)).toBeLessThanOrEqual(Math.abs(delta));
          expect(Math.sign(change.appliedDelta) * Math.sign(delta)).toBeGreaterThanOrEqual(0);
          expect(change.tierAfter).toBe(deriveTier(change.scoreAfter));
          score = change.scoreAfter;
        }
      }),
    );
  });

  it('equals the plain sum while the running sum stays inside the bounds', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 19 }), (deltas) => {
        let score = 0;
        for (const d of deltas) score = applyDelta(score, d).scoreAfter;
        expect(score).toBe(deltas.reduce((a, b) => a + b, 0));
      }),
    );
  });
});

describe('interaction rule table', () => {
  it('has the customer’s anchors and only deltas a single adjustment may carry', () => {
    expect(INTERACTION_RULES.fair_trade.delta).toBe(5);
    expect(INTERACTION_RULES.attempted_scam.delta).toBe(-30);
    expect(INTERACTION_RULES.chat_message.delta).toBe(0);
    expect(INTERACTION_RULES.party_invite.delta).toBe(0);
    for (const event of INTERACTION_EVENTS) {
      const rule = INTERACTION_RULES[event];
      expect(Number.isInteger(rule.delta)).toBe(true);
      expect(Math.abs(rule.delta)).toBeLessThanOrEqual(MAX_DELTA);
      expect(rule.description.length).toBeGreaterThan(0);
      expect(event.length).toBeLessThanOrEqual(32);
      expect(event).toMatch(/^[a-z_]+$/);
    }
  });

  it('knows its events and nothing inherited', () => {
    expect(isInteractionEvent('pk_attempt')).toBe(true);
    expect(isInteractionEvent('toString')).toBe(false);
    expect(isInteractionEvent('stole_my_lunch')).toBe(false);
  });
});

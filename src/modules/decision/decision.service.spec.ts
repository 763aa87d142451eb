import fc from 'fast-check';
import type { MlPrediction, MlPredictor } from './ml-predictor.port';
import { loadConfig } from '../../config/app-config';
import type { GameState, StateSnapshot } from '../state';
import { ActionPriority, ActionType } from './action';
import type { DecisionLogEntry } from './decision-log.writer';
import { DecisionService } from './decision.service';
import { PlannerService } from './planner.service';
import { DEFAULT_RULES } from './tiers/rules';

function build(ml: MlPredictor | null, rules = DEFAULT_RULES) {
  const logged: DecisionLogEntry[] = [];
  const log = { push: (e: DecisionLogEntry) => logged.push(e) };
  const ruleSet = { rules: { version: 1, source: 'test', loadedAt: '', rules } };
  const expiry: Array<(id: string) => void> = [];
  const sessions = { onSessionExpired: (l: (id: string) => void) => expiry.push(l) };
  const state = { current: () => undefined };
  const planner = new PlannerService();
  const svc = new DecisionService(loadConfig({}), ruleSet as never, planner, log as never, state as never, sessions as never, ml);
  return { svc, logged, planner, expire: (id: string) => expiry.forEach((l) => l(id)) };
}

const snap = (character: Partial<GameState['character']> = {}, rest: Partial<GameState> = {}, version = 1): StateSnapshot => ({
  sessionId: 's1',
  version,
  updatedAt: 0,
  state: {
    character: { name: 'K', level: 10, hp: 800, max_hp: 1000, sp: 100, max_sp: 100, position: { map: 'prt', x: 10, y: 10 }, ...character },
    monsters: [],
    inventory: [],
    ...rest,
  },
});

const predictor = (p: Partial<MlPrediction> | Error): MlPredictor => ({
  available: true,
  predictState: () => (p instanceof Error ? Promise.reject(p) : Promise.resolve({ action_type: 'SIT', confidence: 0.9, model_version: 3, ...p })),
});

describe('DecisionService', () => {
  it('uses a confident model when reflexes and rules have nothing, and logs the decision', async () => {
    const { svc, logged } = build(predictor({ action_type: 'SIT', confidence: 0.9 }));
    const d = await svc.decide(snap());
    expect(d.decision_tier).toBe('ml');
    expect(d.action.type).toBe(ActionType.SIT);
    expect(d.action.reason).toContain('model v3');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ session_id: 's1', decision_tier: 'ml', action_type: 'SIT', state_version: 1 });
    expect(svc.stats()).toMatchObject({ total_decisions: 1, ml_decisions: 1 });
  });

  it('falls through to the planner when the model is unsure, fails, or says something it cannot do here', async () => {
    for (const p of [predictor({ confidence: 0.2 }), predictor(new Error('boom')), predictor({ action_type: 'MOVE_TO', confidence: 0.99 })]) {
      const { svc } = build(p);
      const d = await svc.decide(snap());
      expect(d.pending).toBeDefined();
      expect(d.action.type).toBe(ActionType.NO_ACTION);
    }
  });

  it('property: whatever the model says, a character under 15% HP is never sent to attack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 149 }),
        fc.constantFrom(...Object.values(ActionType)),
        fc.array(fc.record({ id: fc.nat(), distance: fc.nat(20), is_attacking_me: fc.boolean() }), { maxLength: 5 }),
        async (hp, type, monsters) => {
          const { svc } = build(predictor({ action_type: type, confidence: 1 }), []);
          const d = await svc.decide(snap({ hp }, { monsters }));
          expect([ActionType.ATTACK, ActionType.USE_SKILL]).not.toContain(d.action.type);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('delivers a queued macro action before a lower-priority decision and tells its listener', async () => {
    const { svc } = build(null);
    const delivered: string[] = [];
    svc.onActionDelivered((sessionId, entry) => delivered.push(`${sessionId}:${entry.source}`));
    svc.enqueue('s1', { type: ActionType.SEND_COMMAND, params: { command: 'ai on' }, reason: 'macro' }, ActionPriority.HIGH, 'macro:e1');
    const d = await svc.decide(snap({}, { monsters: [{ id: 5, distance: 2 }] }));
    expect(d.action).toMatchObject({ type: ActionType.SEND_COMMAND, source: 'macro:e1' });
    expect(delivered).toEqual(['s1:macro:e1']);
    // The rule's attack waits in the queue and comes next.
    const next = await svc.decide(snap({}, { monsters: [{ id: 5, distance: 2 }] }, 2));
    expect(next.action.type).toBe(ActionType.ATTACK);
  });

  it('counts feedback per action and tells feedback listeners', () => {
    const { svc } = build(null);
    const seen: boolean[] = [];
    svc.onFeedback((e) => seen.push(e.success));
    svc.recordFeedback('attack_monster', true, undefined, undefined);
    svc.recordFeedback('attack_monster', false, undefined, 'missed');
    expect(svc.feedbackStats()).toEqual({ attack_monster: { success: 1, failure: 1 } });
    expect(seen).toEqual([true, false]);
  });

  it("keeps each session's last decision and queue depth for the console, and forgets them with the session", async () => {
    const { svc, logged, expire } = build(null);
    expect(svc.lastDecision('s1')).toBeUndefined();
    expect(svc.queueDepth('s1')).toBe(0);
    await svc.decide(snap({}, { monsters: [{ id: 5, distance: 2 }] }));
    const last = svc.lastDecision('s1');
    expect(last).toEqual({
      decision_tier: logged[0].decision_tier,
      action_type: logged[0].action_type,
      reason: logged[0].reason,
      processing_time_ms: logged[0].processing_time_ms,
      at: logged[0].created_at,
    });
    expect(last!.action_type).toBe(ActionType.ATTACK);
    svc.enqueue('s1', { type: ActionType.SEND_COMMAND, params: { command: 'ai on' }, reason: 'macro' }, ActionPriority.LOW, 'macro:e1');
    expect(svc.queueDepth('s1')).toBe(1);
    await svc.decide(snap({ hp: 100 }, {}, 2));
    expect(svc.lastDecision('s1')!.decision_tier).toBe(logged[1].decision_tier);
    expire('s1');
    expect(svc.lastDecision('s1')).toBeUndefined();
    expect(svc.queueDepth('s1')).toBe(0);
  });
});

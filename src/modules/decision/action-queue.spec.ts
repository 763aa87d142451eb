import { type Action, ActionPriority, ActionType } from './action';
import { ActionQueue, ConflictResolution } from './action-queue';

const move = (x: number): Action => ({ type: ActionType.MOVE_TO, params: { x, y: 0 }, reason: 'move' });
const skill = (id: number): Action => ({ type: ActionType.USE_SKILL, params: { skill_id: id }, reason: 'skill' });
const sit: Action = { type: ActionType.SIT, params: {}, reason: 'sit' };

describe('ActionQueue', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 0));

  it('delivers by priority, FIFO within a priority', () => {
    const q = new ActionQueue(10, clock);
    q.enqueue(skill(1), ActionPriority.NORMAL, 1000);
    q.enqueue(skill(2), ActionPriority.NORMAL, 1000);
    q.enqueue(sit, ActionPriority.HIGH, 1000);
    expect(q.dequeue()!.action).toBe(sit);
    expect(q.dequeue()!.action.params.skill_id).toBe(1);
    expect(q.dequeue()!.action.params.skill_id).toBe(2);
    expect(q.dequeue()).toBeUndefined();
  });

  it('drops and counts actions past their deadline', () => {
    const q = new ActionQueue(10, clock);
    q.enqueue(skill(1), ActionPriority.NORMAL, 100);
    q.enqueue(skill(2), ActionPriority.NORMAL, 500);
    now = 200;
    expect(q.dequeue()!.action.params.skill_id).toBe(2);
    expect(q.stats.expired).toBe(1);
    expect(q.stats.delivered).toBe(1);
  });

  it('a movement replaces a queued movement', () => {
    const q = new ActionQueue(10, clock);
    expect(q.enqueue(move(1), ActionPriority.NORMAL, 1000)).toBe(ConflictResolution.QUEUE);
    expect(q.enqueue(move(2), ActionPriority.NORMAL, 1000)).toBe(ConflictResolution.REPLACE);
    expect(q.size).toBe(1);
    expect(q.dequeue()!.action.params.x).toBe(2);
  });

  it('a skill queues behind a skill and behind a movement', () => {
    const q = new ActionQueue(10, clock);
    q.enqueue(move(1), ActionPriority.NORMAL, 1000);
    expect(q.enqueue(skill(1), ActionPriority.NORMAL, 1000)).toBe(ConflictResolution.QUEUE);
    expect(q.enqueue(skill(2), ActionPriority.NORMAL, 1000)).toBe(ConflictResolution.QUEUE);
    expect(q.size).toBe(3);
  });

  it('a duplicate merges (and extends its deadline)', () => {
    const q = new ActionQueue(10, clock);
    q.enqueue(skill(1), ActionPriority.NORMAL, 100);
    now = 50;
    expect(q.enqueue(skill(1), ActionPriority.NORMAL, 100)).toBe(ConflictResolution.MERGE);
    expect(q.size).toBe(1);
    now = 120;
    expect(q.dequeue()).toBeDefined();
  });

  it('a critical action rejects lesser ones and replaces them when it arrives', () => {
    const q = new ActionQueue(10, clock);
    q.enqueue(skill(1), ActionPriority.NORMAL, 1000);
    expect(q.enqueue(move(9), ActionPriority.CRITICAL, 1000)).toBe(ConflictResolution.REPLACE);
    expect(q.enqueue(skill(2), ActionPriority.NORMAL, 1000)).toBe(ConflictResolution.REJECT);
    expect(q.size).toBe(1);
    expect(q.stats.rejected).toBe(1);
  });

  it('is bounded: the weakest, oldest entry gives way; a weaker newcomer is refused', () => {
    const q = new ActionQueue(2, clock);
    q.enqueue(skill(1), ActionPriority.LOW, 1000);
    q.enqueue(skill(2), ActionPriority.HIGH, 1000);
    q.enqueue(skill(3), ActionPriority.NORMAL, 1000);
    expect(q.peekAll().map((e) => e.action.params.skill_id).sort()).toEqual([2, 3]);
    expect(q.enqueue(skill(4), ActionPriority.LOW, 1000)).toBe(ConflictResolution.REJECT);
    expect(q.stats.overflowed).toBe(2);
  });
});

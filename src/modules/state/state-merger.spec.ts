import type { GameState } from './game-state';
import { MergeStrategy, mergeState } from './state-merger';

const base = (): GameState => ({
  character: { name: 'K', level: 10, hp: 500, max_hp: 1000, sp: 50, max_sp: 100, position: { map: 'prt', x: 1, y: 2 }, zeny: 100 },
  monsters: [{ id: 1, distance: 3 }],
  timestamp_ms: 1000,
});

describe('mergeState', () => {
  it('LAST_WRITE_WINS takes every field the patch carries and keeps the rest', () => {
    const b = base();
    const r = mergeState(b, { character: { hp: 400, zeny: 50 }, monsters: [] }, MergeStrategy.LAST_WRITE_WINS);
    expect(r.state.character).toMatchObject({ hp: 400, zeny: 50, sp: 50, name: 'K' });
    expect(r.state.monsters).toEqual([]);
    expect(r.changed.sort()).toEqual(['character.hp', 'character.zeny', 'monsters']);
    expect(b.character.hp).toBe(500); // base untouched
  });

  it('PREFER_NEWER ignores a patch older than the snapshot and applies a newer one', () => {
    const stale = mergeState(base(), { character: { hp: 1 }, timestamp_ms: 900 }, MergeStrategy.PREFER_NEWER);
    expect(stale.state.character.hp).toBe(500);
    expect(stale.state.timestamp_ms).toBe(1000);
    const fresh = mergeState(base(), { character: { hp: 1 }, timestamp_ms: 1100 }, MergeStrategy.PREFER_NEWER);
    expect(fresh.state.character.hp).toBe(1);
    expect(fresh.state.timestamp_ms).toBe(1100);
  });

  it('PREFER_HIGHER keeps the larger number and takes non-numbers from the patch', () => {
    const r = mergeState(base(), { character: { zeny: 50, level: 11, position: { map: 'gef', x: 5, y: 5 } } }, MergeStrategy.PREFER_HIGHER);
    expect(r.state.character.zeny).toBe(100);
    expect(r.state.character.level).toBe(11);
    expect(r.state.character.position.map).toBe('gef');
  });

  it('MANUAL_RESOLVE reports every differing field and applies nothing', () => {
    const r = mergeState(base(), { character: { hp: 400, sp: 50, job_level: 3 }, monsters: [{ id: 2 }] }, MergeStrategy.MANUAL_RESOLVE);
    expect(r.conflicts.map((c) => c.field).sort()).toEqual(['character.hp', 'monsters']);
    expect(r.conflicts.find((c) => c.field === 'character.hp')).toEqual({ field: 'character.hp', current: 500, incoming: 400 });
    const same = mergeState(base(), { character: { hp: 500 } }, MergeStrategy.MANUAL_RESOLVE);
    expect(same.conflicts).toEqual([]);
  });
});

import { SessionService } from '../../src/modules/session';
import { type GameState, MergeStrategy, type PartialGameState, StateService, type StateSnapshot } from '../../src/modules/state';
import { startEngine, tempDir, type RunningEngine } from '../support/engine';
import { report, turn, Violations, within } from './support';

const WRITERS = 5;
const UPDATES = 1_000;
const READERS = 5;
const READS = 10_000;

/**
 * Update `n` (unique over the run) writes n into several fields at once — hp, sp, zeny, the
 * job label and the one inventory entry — so a snapshot mixing two updates has fields that
 * disagree: that is what a torn read looks like.
 */
function payload(n: number): Pick<GameState, 'inventory'> & { character: Pick<GameState['character'], 'hp' | 'sp' | 'zeny' | 'job_class'> } {
  return {
    character: { hp: n, sp: n, zeny: n, job_class: `u${n}` },
    inventory: [{ id: n, name: `item ${n}`, amount: n, type: 'usable' }],
  };
}

function whole(n: number): GameState {
  const p = payload(n);
  return {
    character: { name: 'Stress', level: 1, max_hp: 1_000_000, max_sp: 1_000_000, position: { map: 'prt_fild08', x: 1, y: 1 }, ...p.character },
    skills: [],
    monsters: [],
    inventory: p.inventory,
    nearby_players: [],
    party_members: [],
  } as unknown as GameState;
}

/** The n every field of the snapshot carries, or null when they disagree (a torn snapshot). */
function tokenOf(s: StateSnapshot): number | null {
  const c = s.state.character;
  const n = c.hp;
  const item = s.state.inventory?.[0];
  const whole = c.sp === n && c.zeny === n && c.job_class === `u${n}` && s.state.inventory?.length === 1 && item?.id === n && item.amount === n && item.name === `item ${n}`;
  return whole ? n : null;
}

/**
 * STATE: 5 writers × 1,000 updates of one session's state through the state service, 5 readers
 * × 10,000 reads, all interleaved on the event loop of a real engine (real SQLite). The STATE
 * guarantee has no lock: an update is one synchronous step from reading the base snapshot to
 * publishing the next (copy-on-write), so no update is lost and no reader sees a half-made one.
 */
describe('stress: state updates and reads of one session', () => {
  let e: RunningEngine | undefined;
  const dataDir = tempDir('okai-stress-state-');

  afterAll(async () => {
    await e?.stop();
  });

  it('no torn read, final version = acknowledged updates, each reader sees versions in order, and the last survives a restart', async () => {
    e = await startEngine({ DATA_DIR: dataDir });
    const state = e.engine.app.get(StateService);
    const sessions = e.engine.app.get(SessionService);
    const { session_id: sid } = await sessions.handshake({ client: 'stress', client_version: '1' } as never);

    const violations = new Violations('state');
    // version → the n of the update acknowledged with it.
    const acked = new Map<number, number>();
    const ack = (s: StateSnapshot, n: number) => {
      violations.check(!acked.has(s.version), () => `version ${s.version} acknowledged twice (updates ${acked.get(s.version)} and ${n})`);
      acked.set(s.version, n);
    };
    ack(await state.apply(sid, { full: whole(0) }), 0);

    let writersDone = 0;
    const writer = async (w: number) => {
      for (let j = 0; j < UPDATES; j++) {
        const n = w * UPDATES + j + 1;
        // Whole states and merged patches alternate: both paths publish one snapshot per update.
        const snap =
          j % 2 === 0
            ? await state.apply(sid, { full: whole(n) })
            : await state.apply(sid, { patch: payload(n) as PartialGameState, strategy: MergeStrategy.LAST_WRITE_WINS });
        ack(snap, n);
        violations.check(tokenOf(snap) === n, () => `writer ${w} update ${n} published ${JSON.stringify(snap.state.character)}`);
        await turn();
      }
      writersDone++;
    };
    const samples: Array<Array<[number, number]>> = [];
    let torn = 0;
    let backwards = 0;
    const reader = async (r: number) => {
      const seen: Array<[number, number]> = [];
      samples[r] = seen;
      let last = 0;
      for (let i = 0; i < READS; i++) {
        const snap = state.current(sid)!;
        const n = tokenOf(snap);
        if (n === null) torn++;
        violations.check(n !== null, () => `reader ${r} read ${i}: torn snapshot v${snap.version} ${JSON.stringify(snap.state.character)} ${JSON.stringify(snap.state.inventory)}`);
        if (snap.version < last) backwards++;
        violations.check(snap.version >= last, () => `reader ${r} read ${i}: version ${snap.version} after ${last}`);
        violations.check(Object.isFrozen(snap) && Object.isFrozen(snap.state.character), () => `reader ${r}: a published snapshot is not frozen`);
        last = snap.version;
        seen.push([snap.version, n ?? -1]);
        // Readers spread over the writers' run rather than finishing first.
        if (i % 2 === 0 || writersDone === WRITERS) await turn();
      }
    };

    await within(120_000, 'state writers and readers', Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: READERS }, (_, r) => reader(r))]));

    // Each read saw exactly the update acknowledged with that version.
    let mismatched = 0;
    for (const [r, seen] of samples.entries()) {
      for (const [version, n] of seen) {
        if (acked.get(version) !== n) mismatched++;
        violations.check(acked.get(version) === n, () => `reader ${r} saw v${version} carrying update ${n}, acknowledged as ${acked.get(version)}`);
      }
    }
    const acknowledged = 1 + WRITERS * UPDATES;
    const final = state.current(sid)!;
    const distinctSeen = new Set(samples.flatMap((s) => s.map(([v]) => v))).size;
    await state.flush();
    await e.stop();
    e = undefined;

    // The last snapshot is what the database kept: a restart on the same file resumes it.
    e = await startEngine({ DATA_DIR: dataDir });
    const resumed = e.engine.app.get(StateService).current(sid);

    report('state', {
      writers: WRITERS,
      updates_acknowledged: acked.size,
      final_version: final.version,
      readers: READERS,
      reads: samples.reduce((s, x) => s + x.length, 0),
      distinct_versions_read: distinctSeen,
      torn_reads: torn,
      versions_backwards: backwards,
      read_version_mismatches: mismatched,
      resumed_version: resumed?.version ?? null,
    });
    violations.assertNone();
    expect(acked.size).toBe(acknowledged);
    expect([...acked.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: acknowledged }, (_, i) => i + 1));
    expect(final.version).toBe(acknowledged);
    expect(tokenOf(final)).toBe(acked.get(acknowledged));
    expect(samples.every((s) => s.length === READS)).toBe(true);
    expect(resumed?.version).toBe(acknowledged);
    expect(resumed && tokenOf(resumed)).toBe(acked.get(acknowledged));
  });
});

import fc from 'fast-check';
import type { DatabaseService } from '../../common/database/database.service';
import type { SessionService } from '../session';
import type { GameState } from './game-state';
import { MergeStrategy } from './state-merger';
import { StaleVersionError } from './state.errors';
import { StateService } from './state.service';

const whole = (hp: number) => ({ character: { name: 'K', level: 1, hp, max_hp: 1000, sp: 0, max_sp: 0, position: { map: 'm', x: 0, y: 0 } } }) as unknown as GameState;

/**
 * What the STATE level stands for without a lock of its own (docs/architecture.md): an update
 * is one synchronous step from reading the base snapshot to publishing the next, so updates
 * of one session started from any number of concurrent flows — not even serialized by a
 * session turn here — never lose one another, and a reader only ever sees whole, published
 * snapshots.
 */
describe('StateService updates without a lock', () => {
  const service = () => new StateService({} as DatabaseService, {} as SessionService);

  it('property: concurrent updates of a session each get their own version, none lost, readers see only published snapshots', async () => {
    const update = fc.oneof(
      fc.integer({ min: 1, max: 999 }).map((hp) => ({ full: whole(hp) })),
      fc.integer({ min: 1, max: 999 }).map((hp) => ({ patch: { character: { hp } }, strategy: MergeStrategy.LAST_WRITE_WINS })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(update, fc.nat(3)), { minLength: 1, maxLength: 40 }), async (updates) => {
        const svc = service();
        await svc.apply('s', { full: whole(500) });
        const seen: number[] = [];
        // Each update from its own flow, after its own number of turns of the loop.
        const versions = await Promise.all(
          updates.map(async ([u, delay]) => {
            for (let i = 0; i < delay; i++) await new Promise((r) => setImmediate(r));
            const before = svc.current('s')!;
            seen.push(before.version);
            expect(Object.isFrozen(before.state)).toBe(true);
            const snap = await svc.apply('s', u);
            // What it published carries the update it applied.
            const hp = 'full' in u ? u.full!.character.hp : u.patch!.character.hp;
            expect(snap.state.character.hp).toBe(hp);
            return snap.version;
          }),
        );
        expect([...versions].sort((a, b) => a - b)).toEqual(updates.map((_, i) => i + 2));
        expect(svc.current('s')!.version).toBe(updates.length + 1);
      }),
      { numRuns: 60, seed: 2112 },
    );
  });

  it('an expected version is checked and published in the same step: of racing updates expecting one version, exactly one wins', async () => {
    const svc = service();
    await svc.apply('s', { full: whole(1) });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => svc.apply('s', { full: whole(10 + i), expectedVersion: 1 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof StaleVersionError)).toHaveLength(19);
    expect(svc.current('s')!.version).toBe(2);
  });
});

import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { pgInstances, type PgInstance, semanticsDatabase } from '../../common/database/pg-schema.test-kit';
import { describePostgres, startPostgres, type PgTestServer } from '../../common/database/pg.test-kit';
import { FlagService } from './flag.service';

/**
 * Cross-process flags on PostgreSQL (read committed): the compare-and-set stays one conditional
 * upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE free or expired`). PostgreSQL locks the
 * conflicting row and evaluates the WHERE on its latest committed version, so of several
 * instances taking a free or lapsed flag at once exactly one changes the row; heartbeat and
 * release are conditional on owner and token the same way (docs/cluster.md, "PostgreSQL").
 */
describePostgres('flags: compare-and-set with fencing tokens from several instances on PostgreSQL', () => {
  let server: PgTestServer;
  let instances: PgInstance[] = [];
  let clock = 1_000_000;
  let flags: FlagService[] = [];
  const TTL = 1_000;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = await startPostgres();
    instances = await pgInstances(await semanticsDatabase(server, 'flags'), 4, { poolSize: 2 });
    flags = instances.map((i, n) => new FlagService(i.db, { now: () => clock, ownerId: `instance-${n}` }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(flags.map((f) => f.close()));
    await Promise.all(instances.map((i) => i.pool.end()));
    await server?.stop();
  });

  it('property: rounds of simultaneous takes, releases and heartbeats → at most one live holder, exactly one winner of a free flag, tokens growing by one', async () => {
    let run = 0;
    const round = fc.record({
      takers: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
      holder: fc.constantFrom('keep', 'heartbeat', 'release' as const),
      advance: fc.integer({ min: 0, max: 2 * TTL }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 12 }), async (rounds) => {
        run += 1;
        const flag = `prop_${run}`;
        // The model: who holds it until when, and the last token handed out.
        let model: { holder: number; expiresAt: number; token: number } | null = null;
        let lastToken = 0;
        let held: { by: number; lease: Awaited<ReturnType<FlagService['tryAcquire']>> } | null = null;
        for (const r of rounds) {
          const live = model !== null && model.expiresAt > clock;
          const won = await Promise.all(r.takers.map((n) => flags[n].tryAcquire(flag, TTL, { heartbeat: false })));
          const winners = r.takers.filter((_, i) => won[i] !== null);
          if (live) {
            expect(winners).toEqual([]);
          } else {
            expect(winners).toHaveLength(1);
            const lease = won[r.takers.indexOf(winners[0])]!;
            expect(lease.token).toBe(lastToken + 1);
            lastToken = lease.token;
            model = { holder: winners[0], expiresAt: clock + TTL, token: lease.token };
            held = { by: winners[0], lease };
          }
          if (held?.lease && model) {
            if (r.holder === 'release') {
              // Ours under this token still (nobody took it since), expired or not.
              expect(await flags[held.by].release(held.lease)).toBe(true);
              model = null;
              held = null;
            } else if (r.holder === 'heartbeat') {
              const ok = await flags[held.by].heartbeat(held.lease);
              expect(ok).toBe(model.expiresAt > clock);
              if (ok) model.expiresAt = clock + TTL;
              else held = null;
            }
          }
          clock += r.advance;
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it('40 instances-worth of simultaneous takes of a lapsed flag: one winner, the row under its token', async () => {
    const flag = 'stampede';
    const first = await flags[0].tryAcquire(flag, TTL, { heartbeat: false });
    expect(first).not.toBeNull();
    clock += TTL;
    const won = (await Promise.all(Array.from({ length: 40 }, (_, i) => flags[i % flags.length].tryAcquire(flag, TTL, { heartbeat: false })))).filter((l) => l !== null);
    expect(won).toHaveLength(1);
    expect(won[0]!.token).toBe(first!.token + 1);
    const { rows } = await instances[0].pool.query('SELECT owner, token FROM process_flags WHERE name = $1', [flag]);
    expect(rows).toEqual([{ owner: won[0]!.owner, token: String(won[0]!.token) }]);
    // The lapsed holder's heartbeat and release no longer touch the row.
    expect(await flags[0].heartbeat(first!)).toBe(false);
  });
});

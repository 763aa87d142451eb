import fc from 'fast-check';
import { pgInstances, type PgInstance, semanticsDatabase } from '../../common/database/pg-schema.test-kit';
import { describePostgres, startPostgres, type PgTestServer } from '../../common/database/pg.test-kit';
import { PdcaCycleStore } from './pdca-cycle.store';

/**
 * PDCA cycle rows from several instances on PostgreSQL (read committed): every change of a
 * cycle is one statement conditional on `status = 'running'`, so of an owner finishing its cycle
 * and other instances' recovery scans failing it as abandoned, exactly one ends it — and nothing
 * changes an ended row again. (One cycle at a time is the `pdca_running` flag: flag.service.pg.spec.ts.)
 */
describePostgres('PDCA cycle rows ended once from several instances on PostgreSQL', () => {
  let server: PgTestServer;
  let instances: PgInstance[] = [];
  let stores: PdcaCycleStore[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    instances = await pgInstances(await semanticsDatabase(server, 'pdca'), 3, { poolSize: 2 });
    stores = instances.map((i) => new PdcaCycleStore(i.db));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.pool.end()));
    await server?.stop();
  });

  it('property: an owner finishing, an update and reapers on other instances, all at once → the row ended exactly once, by whoever won', async () => {
    let token = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('completed', 'stopped', 'failed' as const), fc.integer({ min: 1, max: 2 }), fc.boolean(), async (status, reapers, update) => {
        token += 1;
        const at = 1_000 + token;
        const id = await stores[0].begin({ trigger_type: 'manual', trigger_reason: 'spec', owner: 'owner-0', lease_token: token, at });
        const phases = [{ phase: 'IDLE' as const, at }];
        const [finished, updated, ...reaped] = await Promise.all([
          stores[0].finish(id, status, phases, null, at + 1),
          update ? stores[0].update(id, 'DO', { phases }, at + 1) : Promise.resolve(false),
          ...Array.from({ length: reapers }, (_, r) => stores[1 + r].failAbandoned([id], at + 2)),
        ]);
        const reapedBy = reaped.filter((ids) => ids.includes(id)).length;
        expect(Number(finished) + reapedBy).toBe(1);
        const { rows } = await instances[0].pool.query<{ status: string; error: string | null; finished_at: string }>('SELECT status, error, finished_at FROM pdca_cycles WHERE id = $1', [id]);
        expect(rows[0].status).toBe(finished ? status : 'failed');
        if (!finished) expect(rows[0].error).toMatch(/^abandoned/);
        // An ended row is never changed again.
        expect(await stores[2].update(id, 'ACT', { phases }, at + 3)).toBe(false);
        expect(await stores[2].finish(id, 'completed', phases, null, at + 3)).toBe(false);
        void updated;
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('begin fails the rows left running (a dead holder’s) in the same transaction as it inserts its own', async () => {
    const dead = await stores[1].begin({ trigger_type: 'manual', trigger_reason: 'dead', owner: 'dead', lease_token: 900, at: 5_000 });
    const next = await stores[2].begin({ trigger_type: 'manual', trigger_reason: 'next', owner: 'next', lease_token: 901, at: 6_000 });
    const { rows } = await instances[0].pool.query<{ id: string; status: string }>('SELECT id, status FROM pdca_cycles WHERE id IN ($1, $2) ORDER BY id', [dead, next]);
    expect(rows.map((r) => [Number(r.id), r.status])).toEqual([
      [dead, 'failed'],
      [next, 'running'],
    ]);
  });
});

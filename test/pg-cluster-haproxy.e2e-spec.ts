import { describeEnginesOnPostgres, openEngineDatabase } from './support/engine-database';
import { farmFailoverBehindHaproxy, HAPROXY_TEST_TIMEOUT_MS } from './support/haproxy-farm';

/**
 * The HAProxy farm on PostgreSQL: two engine processes on one fresh PostgreSQL database behind a
 * real HAProxy running deploy/haproxy.cfg, 50 bots ticking. Each bot's requests all served by one
 * instance; kill -9 of one → its bots served by the other within lease TTL + one tick, state
 * resuming from the last persisted snapshot, no acknowledged reputation write lost. The scenario
 * is the SQLite suite's (cluster-haproxy.e2e-spec.ts), from test/support/haproxy-farm.ts.
 */
describeEnginesOnPostgres('several engine instances behind HAProxy on one PostgreSQL database', () => {
  it('routes each bot to one instance; after kill -9 of one its bots move over within lease TTL + one tick, state and acknowledged writes intact', async () => {
    const db = await openEngineDatabase('postgres', 'okai_pg_lb');
    try {
      await farmFailoverBehindHaproxy(db);
    } finally {
      await db.close();
    }
  }, HAPROXY_TEST_TIMEOUT_MS);
});

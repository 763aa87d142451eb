import { openEngineDatabase } from './support/engine-database';
import { farmFailoverBehindHaproxy, HAPROXY_TEST_TIMEOUT_MS } from './support/haproxy-farm';

/**
 * Two engine processes on one SQLite file behind a real HAProxy running deploy/haproxy.cfg, 50
 * bots ticking; kill -9 of one instance (test/support/haproxy-farm.ts; the same scenario on
 * PostgreSQL: pg-cluster-haproxy.e2e-spec.ts).
 */
describe('several engine instances behind HAProxy (deploy/haproxy.cfg) on one SQLite file', () => {
  it('routes each bot to one instance; after kill -9 of one its bots move over within lease TTL + one tick, state and acknowledged writes intact', async () => {
    const db = await openEngineDatabase('sqlite', 'okai-lb');
    try {
      await farmFailoverBehindHaproxy(db);
    } finally {
      await db.close();
    }
  }, HAPROXY_TEST_TIMEOUT_MS);
});

import { ConfigError, isLoopback, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('defaults to loopback:9901 and 9902 with the database under ./data', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 9901, compatPort: 9902, logLevel: 'info', rateLimitPerSecond: 0, sessionRateLimitPerSecond: 100 });
    expect(c.databasePath.endsWith('/data/openkore-ai.db')).toBe(true);
    expect(c.token).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.backgroundThreadNice).toBe(10);
    expect(loadConfig({ BACKGROUND_THREAD_NICE: '0' }).backgroundThreadNice).toBe(0);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['COMPAT_PORT', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['RATE_LIMIT_RPS', '1.5'],
    ['SESSION_RATE_LIMIT_RPS', '-1'],
    ['LOCK_ORDER_MODE', 'panic'],
    ['LOCK_DEBUG', 'maybe'],
    ['SESSION_TTL_MS', '5'],
    ['HTTP_FRONT_DOOR', 'sometimes'],
    ['HTTP_FAST_ROUTES', 'sometimes'],
    ['CONSOLE_MAX_STREAMS', '-1'],
    ['CONSOLE_INTERVAL_MS', '100'],
    ['RETENTION_DECISION_LOG', '7'],
    ['RETENTION_DECISION_LOG', '7 days'],
    ['RETENTION_DECISION_LOG', '-1d'],
    ['RETENTION_INTERACTIONS', '20000d'],
    ['RETENTION_PRUNE_INTERVAL', '500ms'],
    ['RETENTION_BATCH_ROWS', '5'],
    ['RETENTION_BATCH_PAUSE_MS', '-1'],
    ['RETENTION_BATCH_PAUSE_MS', '5000'],
    ['STORAGE_LOW_DISK_MB', 'lots'],
    ['BACKGROUND_THREAD_NICE', '20'],
    ['BACKGROUND_THREAD_NICE', '-1'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('DATABASE_URL: unset is the SQLite file; a postgres:// or postgresql:// URL selects PostgreSQL with a pool of DATABASE_POOL_SIZE', () => {
    expect(loadConfig({})).toMatchObject({ databaseUrl: undefined, databasePoolSize: 10 });
    expect(loadConfig({ DATABASE_URL: '  ' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://okai:secret@db.example:5432/okai' }).databaseUrl).toBe('postgres://okai:secret@db.example:5432/okai');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/okai', DATABASE_POOL_SIZE: '25' })).toMatchObject({ databaseUrl: 'postgresql://db/okai', databasePoolSize: 25 });
  });

  it.each([
    ['mysql://db/okai', 'mysql://'],
    ['sqlite:///data/okai.db', 'sqlite://'],
    ['db.example:5432/okai', 'db.example://'],
    ['not a url', 'PostgreSQL URL'],
    ['postgres:///okai', 'names no host'],
  ])('refuses DATABASE_URL=%s at boot, saying why (never echoing the URL)', (url, why) => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(why);
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow('DATABASE_URL');
  });

  it('refuses a DATABASE_POOL_SIZE that is not a positive integer', () => {
    for (const v of ['0', '-1', 'ten', '1.5']) expect(() => loadConfig({ DATABASE_POOL_SIZE: v })).toThrow('DATABASE_POOL_SIZE');
  });

  it('limits per session by default; per address only beyond loopback, unless told', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitPerSecond: 0, sessionRateLimitPerSecond: 100 });
    const lan = { HOST: '0.0.0.0', OPENKORE_AI_TOKEN: 'a-long-enough-token!' };
    expect(loadConfig(lan).rateLimitPerSecond).toBe(2000);
    expect(loadConfig({ ...lan, RATE_LIMIT_RPS: '0' }).rateLimitPerSecond).toBe(0);
    expect(loadConfig({ RATE_LIMIT_RPS: '50', SESSION_RATE_LIMIT_RPS: '0' })).toMatchObject({ rateLimitPerSecond: 50, sessionRateLimitPerSecond: 0 });
  });

  it('refuses a non-loopback host without a token, accepts it with one', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/OPENKORE_AI_TOKEN/);
    expect(loadConfig({ HOST: '0.0.0.0', OPENKORE_AI_TOKEN: 'a-long-enough-token!' }).host).toBe('0.0.0.0');
  });

  it('refuses a short token and equal ports', () => {
    expect(() => loadConfig({ OPENKORE_AI_TOKEN: 'short' })).toThrow('OPENKORE_AI_TOKEN');
    expect(() => loadConfig({ PORT: '9000', COMPAT_PORT: '9000' })).toThrow('COMPAT_PORT');
  });

  it('logs lock-order violations in production and throws elsewhere, unless told', () => {
    expect(loadConfig({}).lockOrderMode).toBe('throw');
    expect(loadConfig({ NODE_ENV: 'production' }).lockOrderMode).toBe('log');
    expect(loadConfig({ NODE_ENV: 'production', LOCK_ORDER_MODE: 'throw' }).lockOrderMode).toBe('throw');
  });

  it('keeps idle connections for 72 s unless HTTP_KEEP_ALIVE_TIMEOUT_MS says otherwise (1 s – 10 min)', () => {
    expect(loadConfig({}).keepAliveTimeoutMs).toBe(72_000);
    expect(loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '120000' }).keepAliveTimeoutMs).toBe(120_000);
    for (const v of ['0', '999', '600001', 'long']) expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: v })).toThrow('HTTP_KEEP_ALIVE_TIMEOUT_MS');
  });

  it('serves the per-tick routes through the front door unless HTTP_FRONT_DOOR=0', () => {
    expect(loadConfig({}).frontDoor).toBe(true);
    expect(loadConfig({ HTTP_FRONT_DOOR: '0' }).frontDoor).toBe(false);
    expect(loadConfig({ HTTP_FRONT_DOOR: 'off' }).frontDoor).toBe(false);
    expect(loadConfig({}).batchResponses).toBe(true);
    expect(loadConfig({ HTTP_BATCH_RESPONSES: '0' }).batchResponses).toBe(false);
  });

  it('prunes 500 rows per transaction by default (about 0.75 ms of the loop on a large decision log), 10 ms apart', () => {
    expect(loadConfig({}).retentionBatchRows).toBe(500);
    expect(loadConfig({}).retentionBatchPauseMs).toBe(10);
    expect(loadConfig({ RETENTION_BATCH_PAUSE_MS: '0' }).retentionBatchPauseMs).toBe(0);
  });

  it('runs routes with the composed executor unless HTTP_FAST_ROUTES=0', () => {
    expect(loadConfig({}).fastRoutes).toBe(true);
    expect(loadConfig({ HTTP_FAST_ROUTES: '0' }).fastRoutes).toBe(false);
  });

  it('bounds the console streams and their update interval', () => {
    expect(loadConfig({})).toMatchObject({ consoleMaxStreams: 8, consoleIntervalMs: 2000 });
    expect(loadConfig({ CONSOLE_MAX_STREAMS: '0', CONSOLE_INTERVAL_MS: '250' })).toMatchObject({ consoleMaxStreams: 0, consoleIntervalMs: 250 });
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopback(h)).toBe(false);
  });

  it('reads retention periods as durations with a unit, and keeps the training window at least what the trainer reads', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({
      retentionDecisionLogMs: 7 * 86_400_000,
      retentionInteractionsMs: 30 * 86_400_000,
      retentionInteractionsKeep: 100,
      retentionSnapshotsMs: 7 * 86_400_000,
      retentionPdcaMs: 90 * 86_400_000,
      retentionPruneIntervalMs: 600_000,
      retentionTrainingRows: 250_000,
      retentionTrainingFeedbackRows: 250_000,
      storageLowDiskBytes: 1024 * 1024 * 1024,
      storageCriticalDiskBytes: 256 * 1024 * 1024,
    });
    const c = loadConfig({ RETENTION_DECISION_LOG: '2m', RETENTION_INTERACTIONS: '90s', RETENTION_SNAPSHOTS: '12h', RETENTION_PDCA: '0', ML_TRAIN_MAX_SAMPLES: '1000' });
    expect(c).toMatchObject({ retentionDecisionLogMs: 120_000, retentionInteractionsMs: 90_000, retentionSnapshotsMs: 43_200_000, retentionPdcaMs: 0, retentionTrainingRows: 1250 });
    expect(() => loadConfig({ ML_TRAIN_MAX_SAMPLES: '1000', RETENTION_TRAINING_ROWS: '999' })).toThrow('RETENTION_TRAINING_ROWS');
    expect(loadConfig({ RETENTION_TRAINING_ROWS: '0' }).retentionTrainingRows).toBe(0);
    expect(() => loadConfig({ STORAGE_LOW_DISK_MB: '100', STORAGE_CRITICAL_DISK_MB: '200' })).toThrow('STORAGE_CRITICAL_DISK_MB');
  });
});

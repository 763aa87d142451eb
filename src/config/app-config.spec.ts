import { ConfigError, isLoopback, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('defaults to loopback:9901 and 9902 with the database under ./data', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 9901, compatPort: 9902, logLevel: 'info', rateLimitPerSecond: 100 });
    expect(c.databasePath.endsWith('/data/openkore-ai.db')).toBe(true);
    expect(c.token).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['COMPAT_PORT', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['RATE_LIMIT_RPS', '1.5'],
    ['LOCK_ORDER_MODE', 'panic'],
    ['LOCK_DEBUG', 'maybe'],
    ['SESSION_TTL_MS', '5'],
    ['HTTP_FRONT_DOOR', 'sometimes'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
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

  it('serves the per-tick routes through the front door unless HTTP_FRONT_DOOR=0', () => {
    expect(loadConfig({}).frontDoor).toBe(true);
    expect(loadConfig({ HTTP_FRONT_DOOR: '0' }).frontDoor).toBe(false);
    expect(loadConfig({ HTTP_FRONT_DOOR: 'off' }).frontDoor).toBe(false);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopback(h)).toBe(false);
  });
});

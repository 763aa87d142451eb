import { request, runEngineToExit, startEngine, tempDir, type RunningEngine } from './support/engine';

const TOKEN = 'test-token-0123456789abcdef';

describe('auth with OPENKORE_AI_TOKEN set', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN });
  });
  afterAll(() => e.stop());

  it('refuses a request without a token with 401 INVALID_TOKEN', async () => {
    const res = await request(`${e.url}/api/v1/handshake`, { body: { client: 'a', client_version: '1' } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_TOKEN');
  });

  it('refuses a wrong token, including one that only differs in length', async () => {
    for (const bad of ['nope', TOKEN + 'x', TOKEN.slice(0, -1)]) {
      const res = await request(`${e.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${bad}` } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_TOKEN');
    }
    const basic = await request(`${e.url}/api/v1/sessions`, { headers: { authorization: `Basic ${TOKEN}` } });
    expect(basic.status).toBe(401);
  });

  it('accepts the right bearer token', async () => {
    const res = await request(`${e.url}/api/v1/handshake`, {
      body: { client: 'a', client_version: '1' },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
  });

  it('health needs no token', async () => {
    for (const p of ['/health', '/api/v1/health', '/health/live', '/health/ready']) {
      const res = await request(`${e.url}${p}`);
      expect(res.status).toBe(200);
    }
  });

  it('the OpenAPI document loads without the token (a browser cannot send one); the routes it lists do not', async () => {
    expect((await request(`${e.url}/docs-json`)).status).toBe(200);
    expect((await request(`${e.url}/api/v1/sessions`)).status).toBe(401);
  });
});

describe('auth without a token', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({});
  });
  afterAll(() => e.stop());

  it('serves every route without Authorization on loopback', async () => {
    const res = await request(`${e.url}/api/v1/sessions`);
    expect(res.status).toBe(200);
  });
});

describe('rate limit per client address', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ RATE_LIMIT_RPS: '20' });
  });
  afterAll(() => e.stop());

  it('answers 429 RATE_LIMIT with Retry-After once the budget is spent, health excepted', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => request(`${e.url}/api/v1/sessions`)));
    const limited = results.filter((r) => r.status === 429);
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    expect(limited.length).toBeGreaterThan(0);
    expect(ok.length + limited.length).toBe(60);
    expect(limited[0].body.error.code).toBe('RATE_LIMIT');
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const health = await request(`${e.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe('bind refusal', () => {
  it('refuses to listen beyond loopback without a token and names the variable', async () => {
    const { code, output } = await runEngineToExit({ HOST: '0.0.0.0', PORT: '0', COMPAT_PORT: '0', DATA_DIR: tempDir() });
    expect(code).toBe(2);
    expect(output).toContain('HOST');
    expect(output).toContain('OPENKORE_AI_TOKEN');
  });

  it('a bad value stops the process with a message naming the variable', async () => {
    const { code, output } = await runEngineToExit({ PORT: 'ninety', DATA_DIR: tempDir() });
    expect(code).toBe(2);
    expect(output).toContain('PORT');
  });
});

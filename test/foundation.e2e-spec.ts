import { request, startEngine, type RunningEngine } from './support/engine';

describe('foundation over real HTTP', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ COMPAT_PORT: 'auto' });
  });
  afterAll(async () => {
    await e.stop();
  });

  it('handshake returns a UUID v4 session and records it', async () => {
    const res = await request(`${e.url}/api/v1/handshake`, {
      body: { client: 'openkore', client_version: '3.2', pid: 1234, capabilities: ['decide'] },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    expect(res.body.data.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body.data.server.name).toBe('openkore-ai-engine');
    expect(res.body.metadata.request_id).toBe(res.headers.get('x-request-id'));
    expect(typeof res.body.metadata.processing_time_ms).toBe('number');

    const list = await request(`${e.url}/api/v1/sessions`);
    expect(list.body.data.map((s: { session_id: string }) => s.session_id)).toContain(res.body.data.session_id);
    const one = await request(`${e.url}/api/v1/sessions/${res.body.data.session_id}`);
    expect(one.body.data).toMatchObject({ client: 'openkore', pid: 1234, capabilities: ['decide'], status: 'active' });
  });

  it('serves the same app on the compatibility port', async () => {
    const res = await request(`${e.compatUrl!}/api/v1/handshake`, { body: { client: 'c', client_version: '1' } });
    expect(res.status).toBe(200);
    const list = await request(`${e.url}/api/v1/sessions`);
    expect(list.body.data.map((s: { session_id: string }) => s.session_id)).toContain(res.body.data.session_id);
    const health = await request(`${e.compatUrl!}/health`);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');
  });

  it.each(['/api/v1/health', '/health'])('%s answers in the spec shape', async (path) => {
    const res = await request(`${e.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', issues: [] });
    expect(typeof res.body.uptime_seconds).toBe('number');
    expect(typeof res.body.active_sessions).toBe('number');
    expect(res.body.decision_engines).toBeDefined();
    expect(res.body.performance).toHaveProperty('requests_total');
  });

  it('liveness and readiness come from terminus', async () => {
    const live = await request(`${e.url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    const ready = await request(`${e.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.details.database.status).toBe('up');
  });

  it('serves Swagger UI and the OpenAPI document with DTO schemas and the bearer scheme', async () => {
    const ui = await fetch(`${e.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
    const doc = await request(`${e.url}/docs-json`);
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/api/v1/handshake'].post).toBeDefined();
    expect(doc.body.components.schemas.HandshakeDto.properties.client_version).toBeDefined();
    expect(doc.body.components.schemas.ErrorEnvelopeDto).toBeDefined();
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('echoes a safe caller request id and replaces an unsafe one', async () => {
    const mine = await request(`${e.url}/api/v1/sessions`, { headers: { 'x-request-id': 'bot-7.tick-42' } });
    expect(mine.headers.get('x-request-id')).toBe('bot-7.tick-42');
    expect(mine.body.metadata.request_id).toBe('bot-7.tick-42');
    const bad = await request(`${e.url}/api/v1/sessions`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe('bad input is a 4xx envelope with a stable code, never a 5xx', () => {
    const hs = () => `${e.url}/api/v1/handshake`;
    const cases: Array<[string, () => Parameters<typeof request>[1], number, string]> = [
      ['invalid JSON', () => ({ rawBody: '{"client":', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_REQUEST'],
      ['empty JSON body', () => ({ rawBody: '', headers: { 'content-type': 'application/json' }, method: 'POST' }), 400, 'INVALID_REQUEST'],
      ['wrong types', () => ({ body: { client: 42, client_version: true } }), 400, 'INVALID_REQUEST'],
      ['unknown field', () => ({ body: { client: 'a', client_version: '1', admin: true } }), 400, 'INVALID_REQUEST'],
      ['array body', () => ({ body: [1, 2, 3] }), 400, 'INVALID_REQUEST'],
      ['null body', () => ({ rawBody: 'null', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_REQUEST'],
      ['prototype pollution', () => ({ rawBody: '{"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_REQUEST'],
      ['text/plain', () => ({ rawBody: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['form body', () => ({ rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['body over 1 MiB', () => ({ rawBody: JSON.stringify({ client: 'x'.repeat(1_100_000) }), headers: { 'content-type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE'],
      ['deeply nested', () => ({ rawBody: '['.repeat(5000) + ']'.repeat(5000), headers: { 'content-type': 'application/json' } }), 400, 'INVALID_REQUEST'],
      ['huge array of values', () => ({ rawBody: JSON.stringify({ capabilities: new Array(150_000).fill(0) }), headers: { 'content-type': 'application/json' } }), 400, 'INVALID_REQUEST'],
      ['over-long string field', () => ({ body: { client: 'x'.repeat(65), client_version: '1' } }), 400, 'INVALID_REQUEST'],
    ];
    it.each(cases)('%s', async (_name, init, status, code) => {
      const res = await request(hs(), init());
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ status: 'error', error: { code } });
      expect(res.body.metadata.request_id).toBe(res.headers.get('x-request-id'));
    });

    it('unknown route is 404 NOT_FOUND; malformed UUID param is 400', async () => {
      const missing = await request(`${e.url}/api/v1/nope`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
      const badId = await request(`${e.url}/api/v1/sessions/not-a-uuid`);
      expect(badId.status).toBe(400);
      expect(badId.body.error.code).toBe('INVALID_REQUEST');
      const unknown = await request(`${e.url}/api/v1/sessions/7b0c3f6e-2f8a-4c1e-9d7a-3b8e2c1f0a9d`);
      expect(unknown.status).toBe(404);
    });

    it('the process is still healthy after all of it', async () => {
      const res = await request(`${e.url}/health`);
      expect(res.status).toBe(200);
      expect(res.body.performance.errors_total).toBe(0);
    });
  });
});

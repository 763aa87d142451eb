import { request, startEngine, type RunningEngine } from './support/engine';

const TOKEN = 'docs-token-0123456789abcdef';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** A concrete URL for an OpenAPI path: every `{param}` gets a harmless value. */
function concrete(path: string): string {
  return path.replace(/\{[^}]+\}/g, '1');
}

describe('/docs with OPENKORE_AI_TOKEN set', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ OPENKORE_AI_TOKEN: TOKEN });
  });
  afterAll(() => e.stop());

  it('Swagger UI, its assets and the OpenAPI document load without the token', async () => {
    const ui = await fetch(`${e.url}/docs`);
    expect(ui.status).toBe(200);
    const html = await ui.text();
    for (const asset of html.match(/src="[^"]+"/g)!.map((s) => s.slice(5, -1))) {
      // Relative to the page `/docs` (no trailing slash), as a browser resolves them.
      const res = await fetch(new URL(asset, `${e.url}/docs`));
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
    }
    const doc = await request(`${e.url}/docs-json`);
    expect(doc.status).toBe(200);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('the UI keeps the token it is given for the tab only (persisted authorization in sessionStorage)', async () => {
    const init = await (await fetch(`${e.url}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"persistAuthorization": true');
    const html = await (await fetch(`${e.url}/docs`)).text();
    expect(html).toContain("key === 'authorized' ? window.sessionStorage");
  });

  it('every operation declares the bearer scheme exactly when the route refuses a request without the token', async () => {
    const doc = await request(`${e.url}/docs-json`);
    const checked: string[] = [];
    for (const [path, item] of Object.entries<Record<string, { security?: Array<Record<string, string[]>> }>>(doc.body.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const declared = (op.security ?? doc.body.security ?? []).some((s: Record<string, string[]>) => 'bearer' in s);
        // Without a token the guard answers before validation or any handler runs.
        const res = await request(`${e.url}${concrete(path)}`, { method: method.toUpperCase(), ...(method === 'get' || method === 'delete' ? {} : { body: {} }) });
        const refused = res.status === 401;
        expect({ route: `${method.toUpperCase()} ${path}`, declared }).toEqual({ route: `${method.toUpperCase()} ${path}`, declared: refused });
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThan(40);
    expect(checked).toContain('get /api/v1/health');
    expect(checked).toContain('post /api/v1/strategy/plan');
  });
});

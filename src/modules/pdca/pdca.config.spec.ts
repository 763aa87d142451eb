import { ConfigError, loadConfig } from '../../config/app-config';
import { pdcaOptions } from './pdca.module';

describe('PDCA configuration', () => {
  it('defaults: a cycle every 30 min, a 5 min execution period, a 30 s lease, no LLM', () => {
    const c = loadConfig({});
    expect(pdcaOptions(c)).toEqual({ intervalMs: 1_800_000, executionPeriodMs: 300_000, leaseTtlMs: 30_000 });
    expect(c).toMatchObject({ pdcaLlmUrl: undefined, pdcaLlmApiKey: undefined, pdcaLlmModel: 'gpt-4o-mini', pdcaLlmMaxConnections: 2, pdcaLlmAcquireTimeoutMs: 1_000, pdcaLlmTimeoutMs: 7_000 });
  });

  it('reads the variables; 0 disables the schedule', () => {
    const c = loadConfig({
      PDCA_INTERVAL_MS: '0',
      PDCA_EXECUTION_PERIOD_MS: '1500',
      PDCA_LEASE_TTL_MS: '1000',
      PDCA_LLM_URL: 'http://127.0.0.1:8080/v1',
      PDCA_LLM_API_KEY: ' sk-x ',
      PDCA_LLM_MODEL: 'llama3',
      PDCA_LLM_ACQUIRE_TIMEOUT_MS: '0',
    });
    expect(pdcaOptions(c)).toEqual({ intervalMs: 0, executionPeriodMs: 1_500, leaseTtlMs: 1_000 });
    expect(c).toMatchObject({ pdcaLlmUrl: 'http://127.0.0.1:8080/v1', pdcaLlmApiKey: 'sk-x', pdcaLlmModel: 'llama3', pdcaLlmAcquireTimeoutMs: 0 });
  });

  it.each([
    ['PDCA_INTERVAL_MS', '-1'],
    ['PDCA_EXECUTION_PERIOD_MS', '5'],
    ['PDCA_LEASE_TTL_MS', '50'],
    ['PDCA_LLM_URL', 'not a url'],
    ['PDCA_LLM_URL', 'ftp://example.org/v1'],
    ['PDCA_LLM_MAX_CONNECTIONS', '0'],
    ['PDCA_LLM_TIMEOUT_MS', 'soon'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

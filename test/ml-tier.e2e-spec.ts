import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../src/modules/ml';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';

/** A MODEL_DIR holding the shipped default model only. */
function modelDir(): string {
  const dir = path.join(tempDir(), 'models');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(__dirname, '..', 'models', DEFAULT_MODEL_FILE), path.join(dir, DEFAULT_MODEL_FILE));
  return dir;
}

async function handshake(url: string): Promise<string> {
  const res = await request(`${url}/api/v1/handshake`, { body: { client: 'test', client_version: '1' } });
  return res.body.data.session_id as string;
}

/** Nothing for the reflex tier (no danger) nor for the built-in rules (no monster, HP and SP fine). */
const idle = () => pluginGameState({ monsters: [], hp: 900, sp: 180 });

describe('the ML tier over real HTTP', () => {
  const engines: RunningEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.stop();
  });
  async function engine(confidencePct: number): Promise<RunningEngine> {
    const e = await startEngine({ MODEL_DIR: modelDir(), ML_CONFIDENCE_PCT: String(confidencePct) });
    engines.push(e);
    return e;
  }

  it('decides when a model is loaded and its confidence reaches ML_CONFIDENCE_PCT, and only then', async () => {
    const low = await engine(50);
    const model = await request(`${low.url}/api/v1/ml/model`);
    expect(model.body.data.active).toMatchObject({ version: expect.any(Number) });

    const sid = await handshake(low.url);
    const res = await request(`${low.url}/api/v1/state`, { body: { session_id: sid, game_state: idle() } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ decision_tier: 'ml', action: { reason: expect.stringMatching(/^model v\d+: /) } });
    expect(res.body.data.tier_timings_us).toEqual({ reflex: expect.any(Number), rule: expect.any(Number), ml: expect.any(Number) });

    // The model's own answer for that state: the action the tier took, with its confidence.
    const p = await request(`${low.url}/api/v1/ml/predict`, { body: { session_id: sid } });
    expect(p.status).toBe(200);
    const { action_type, confidence } = p.body.data as { action_type: string; confidence: number };
    expect(res.body.data.action.type).toBe(action_type);
    expect(confidence).toBeGreaterThanOrEqual(0.5);
    const scrape = await (await fetch(`${low.url}/metrics`)).text();
    expect(scrape).toMatch(/^openkore_decisions_total\{tier="ml"\} 1$/m);

    // The same model and state with a threshold just above that confidence: the tier stands aside.
    const abovePct = Math.floor(confidence * 100) + 1;
    expect(abovePct).toBeLessThanOrEqual(100);
    const high = await engine(abovePct);
    const sid2 = await handshake(high.url);
    const res2 = await request(`${high.url}/api/v1/state`, { body: { session_id: sid2, game_state: idle() } });
    // The next tier answers: the slow planner's 202 with a task and a fallback.
    expect(res2.status).toBe(202);
    expect(res2.body.data).toMatchObject({ task_id: expect.any(String), fallback_action: { type: 'NO_ACTION' } });
    expect(await (await fetch(`${high.url}/metrics`)).text()).toMatch(/^openkore_decisions_total\{tier="ml"\} 0$/m);
  });
});

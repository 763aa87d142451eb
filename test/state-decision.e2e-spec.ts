import * as fs from 'node:fs';
import * as path from 'node:path';
import { request, startEngine, tempDir, type RunningEngine } from './support/engine';
import { PLUGIN_ACTIONS, pluginGameState } from './support/game-state';

async function handshake(url: string): Promise<string> {
  const res = await request(`${url}/api/v1/handshake`, { body: { client: 'test', client_version: '1' } });
  return res.body.data.session_id as string;
}

describe('state and decisions over real HTTP', () => {
  let e: RunningEngine;
  let rulesFile: string;
  beforeAll(async () => {
    rulesFile = path.join(tempDir(), 'rules.json');
    // The ML tier never confident enough (the engine always loads a model): these tests pin the
    // reflex, rule and slow tiers; the ML tier answering is test/ml-tier.e2e-spec.ts.
    e = await startEngine({ RULES_FILE: rulesFile, ML_CONFIDENCE_PCT: '100' });
  });
  afterAll(() => e.stop());

  it('concurrent updates of one session are each applied exactly once', async () => {
    const sid = await handshake(e.url);
    const n = 200;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ hp: 500 + i }) } })),
    );
    // 202 is a decision too (the planner is working), with the applied version.
    expect(results.filter((r) => r.status !== 200 && r.status !== 202).map((r) => r.body)).toEqual([]);
    const versions = results.map((r) => r.body.data.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const snap = await request(`${e.url}/api/v1/state/${sid}`);
    expect(snap.body.data.version).toBe(n);
    expect(snap.headers.get('etag')).toBe(`"${n}"`);
  });

  it('a stale expected_version or If-Match is refused with 409 VERSION_CONFLICT and changes nothing', async () => {
    const sid = await handshake(e.url);
    const first = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState(), expected_version: 0 } });
    expect(first.status).toBe(200);
    const stale = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState(), expected_version: 0 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { expected_version: 0, current_version: 1 } });
    const staleHeader = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState() }, headers: { 'if-match': '"0"' } });
    expect(staleHeader.status).toBe(409);
    const ok = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState() }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.body.data.version).toBe(2);
  });

  it('a reader never sees a half-applied update', async () => {
    const sid = await handshake(e.url);
    // Invariant every writer keeps: hp == sp, and the number of monsters == level % 7.
    const stateFor = (k: number) => {
      const gs = pluginGameState({ hp: k, sp: k, level: 1 + (k % 100), monsters: Array.from({ length: (1 + (k % 100)) % 7 }, (_, j) => ({ id: j, distance: j })) });
      gs.character.max_sp = 100_000;
      gs.character.max_hp = 100_000;
      return gs;
    };
    await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: stateFor(1) } });
    let reads = 0;
    let writing = true;
    const readers = Array.from({ length: 4 }, async () => {
      while (writing) {
        const res = await request(`${e.url}/api/v1/state/${sid}`);
        const s = res.body.data.state;
        expect(s.character.hp).toBe(s.character.sp);
        expect(s.monsters.length).toBe(s.character.level % 7);
        reads++;
      }
    });
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 40; i++) {
          const k = 2 + w * 1000 + i;
          const res = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: stateFor(k) } });
          expect(res.status).toBe(200);
        }
      })(),
    );
    await Promise.all(writers);
    writing = false;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(0);
    const final = await request(`${e.url}/api/v1/state/${sid}`);
    expect(final.body.data.version).toBe(161);
  });

  it('merge strategies: patches merge, PREFER_NEWER drops stale fields, MANUAL_RESOLVE returns conflicts as 409', async () => {
    const sid = await handshake(e.url);
    const base = pluginGameState();
    base.timestamp_ms = 1000;
    await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: base } });
    const patched = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, patch: { character: { zeny: 9999 } } } });
    expect(patched.status).toBe(200);
    let snap = (await request(`${e.url}/api/v1/state/${sid}`)).body.data;
    expect(snap.state.character.zeny).toBe(9999);
    expect(snap.state.character.hp).toBe(800);

    await request(`${e.url}/api/v1/state`, { body: { session_id: sid, patch: { character: { hp: 10 }, timestamp_ms: 500 }, merge_strategy: 'PREFER_NEWER' } });
    snap = (await request(`${e.url}/api/v1/state/${sid}`)).body.data;
    expect(snap.state.character.hp).toBe(800);

    await request(`${e.url}/api/v1/state`, { body: { session_id: sid, patch: { character: { zeny: 5 } }, merge_strategy: 'PREFER_HIGHER' } });
    snap = (await request(`${e.url}/api/v1/state/${sid}`)).body.data;
    expect(snap.state.character.zeny).toBe(9999);

    const conflict = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, patch: { character: { hp: 1, sp: 150 } }, merge_strategy: 'MANUAL_RESOLVE' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('VERSION_CONFLICT');
    expect(conflict.body.error.details.conflicts).toEqual([{ field: 'character.hp', current: 800, incoming: 1 }]);
    const after = (await request(`${e.url}/api/v1/state/${sid}`)).body.data;
    expect(after.version).toBe(snap.version);
  });

  it('a dying character (HP 6%) is never told to attack, whatever surrounds it', async () => {
    const sid = await handshake(e.url);
    const cases = [
      pluginGameState({ hp: 60, inventory: [] }),
      pluginGameState({ hp: 60, inventory: [], monsters: [{ id: 1, hp: 1, distance: 1, is_attacking_me: true, is_aggressive: true }] }),
      pluginGameState({ hp: 60, monsters: [{ id: 1, hp: 1, distance: 1, is_attacking_me: true }] }),
    ];
    for (const gs of cases) {
      const res = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: gs } });
      expect(res.status).toBe(200);
      expect(['ATTACK', 'USE_SKILL']).not.toContain(res.body.data.action.type);
    }
  });

  it('the plugin decide route answers its own body shape with an action it executes', async () => {
    const body = { game_state: pluginGameState({ name: 'PluginChar' }), request_id: 42, timestamp_ms: Date.now() };
    const res = await request(`${e.url}/api/v1/decide`, { body });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ action: 'attack_monster', params: { target_id: 1002 }, tier_used: 'rule', request_id: 42 });
    expect(typeof res.body.reason).toBe('string');
    expect(typeof res.body.latency_ms).toBe('number');
    const low = await request(`${e.url}/api/v1/decide`, { body: { ...body, game_state: pluginGameState({ name: 'PluginChar', hp: 60 }) } });
    // A Red Potion held at 6% HP: the plugin's emergency_heal (it drinks the first of its own potion list it holds).
    expect(low.body).toMatchObject({ action: 'emergency_heal', tier_used: 'reflex', session_id: res.body.session_id, state_version: 2 });
    for (const r of [res, low]) expect(PLUGIN_ACTIONS).toContain(r.body.action);
    const feedback = await request(`${e.url}/api/v1/action_feedback`, { body: { action: 'use_item', status: 'success', reason: 'ok', message: '' } });
    expect(feedback.status).toBe(200);
    expect(feedback.body.success).toBe(true);
  });

  it('with nothing to do the slow tier answers 202 with a task and a fallback; the plan arrives', async () => {
    const sid = await handshake(e.url);
    const idle = pluginGameState({ monsters: [] });
    const res = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: idle } });
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ fallback_action: { type: 'NO_ACTION' } });
    const taskId = res.body.data.task_id as string;
    let task = (await request(`${e.url}/api/v1/action/${taskId}`)).body.data;
    const deadline = Date.now() + 5000;
    while (task.status === 'pending' && Date.now() < deadline) task = (await request(`${e.url}/api/v1/action/${taskId}`)).body.data;
    expect(task.status).toBe('completed');
    expect(task.action.type).toBe('MOVE_TO');
    const next = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: idle } });
    expect(next.status).toBe(200);
    expect(next.body.data).toMatchObject({ decision_tier: 'llm', action: { type: 'MOVE_TO' } });
    expect((await request(`${e.url}/api/v1/action/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('rules reload under CONFIG: a new file applies, an invalid one is refused and the old stays', async () => {
    const sid = await handshake(e.url);
    fs.writeFileSync(rulesFile, JSON.stringify({ rules: [{ name: 'always_sit', priority: 1, when: {}, action: { type: 'SIT' }, reason: 'test rule' }] }));
    const reload = await request(`${e.url}/api/v1/config/reload`, { body: { type: 'rules' } });
    expect(reload.status).toBe(200);
    expect(reload.body.data).toMatchObject({ rule_count: 1, source: rulesFile });
    const sit = await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ monsters: [] }) } });
    expect(sit.body.data).toMatchObject({ decision_tier: 'rule', action: { type: 'SIT', reason: 'test rule' } });

    fs.writeFileSync(rulesFile, JSON.stringify({ rules: [{ name: 'bad', priority: 1, when: { hp_below_pct: 900 }, action: { type: 'DANCE' }, reason: 'x' }] }));
    const refused = await request(`${e.url}/api/v1/config/reload`, { body: {} });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body.error.details)).toContain('rules[0].action.type');
    const shown = await request(`${e.url}/api/v1/config/rules`);
    expect(shown.body.data.rules.map((r: { name: string }) => r.name)).toEqual(['always_sit']);
    fs.unlinkSync(rulesFile);
    await request(`${e.url}/api/v1/config/reload`, { body: {} });
    expect((await request(`${e.url}/api/v1/config/unknown`)).status).toBe(400);
  });

  it('bad state input is a 4xx: unknown session 404, wrong types 400, patch before any state 400', async () => {
    expect((await request(`${e.url}/api/v1/state`, { body: { session_id: '7b0c3f6e-2f8a-4c1e-9d7a-3b8e2c1f0a9d', game_state: pluginGameState() } })).status).toBe(404);
    const sid = await handshake(e.url);
    const bad = pluginGameState() as any;
    bad.character.hp = 'lots';
    expect((await request(`${e.url}/api/v1/state`, { body: { session_id: sid, game_state: bad } })).status).toBe(400);
    expect((await request(`${e.url}/api/v1/state`, { body: { session_id: sid, patch: { character: { hp: 1 } } } })).status).toBe(400);
    expect((await request(`${e.url}/api/v1/state`, { body: { session_id: sid } })).status).toBe(400);
  });
});

describe('state persistence', () => {
  it('a restart resumes the last snapshot of an active session', async () => {
    const dataDir = tempDir();
    const first = await startEngine({ DATA_DIR: dataDir });
    const sid = await handshake(first.url);
    for (let i = 0; i < 3; i++) await request(`${first.url}/api/v1/state`, { body: { session_id: sid, game_state: pluginGameState({ hp: 700 + i }) } });
    await first.stop();
    const second = await startEngine({ DATA_DIR: dataDir });
    try {
      const snap = await request(`${second.url}/api/v1/state/${sid}`);
      expect(snap.status).toBe(200);
      expect(snap.body.data).toMatchObject({ version: 3, state: { character: { hp: 702 } } });
    } finally {
      await second.stop();
    }
  });
});

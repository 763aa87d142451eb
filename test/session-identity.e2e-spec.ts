import { SessionSerializer } from '../src/common/concurrency';
import { until } from '../src/common/testing/wait.test-kit';
import { request, startEngine, type RunningEngine } from './support/engine';
import { pluginGameState } from './support/game-state';
import { BOT_HEADER, PipelineProbe, PipelineProbeModule } from './support/pipeline-probe.module';

/**
 * One bot, one session: whichever way a route names it — a session id, or the character the
 * plugin plays — every session-scoped route of the bot is serialized under that one session's
 * turn. The evidence is server-side: a test-only global interceptor (registered the Nest way)
 * records the session each request was serialized under and how many handlers of a session
 * were running at once.
 */
describe('one session identity per bot', () => {
  let e: RunningEngine;
  let probe: PipelineProbe;
  let serializer: SessionSerializer;
  const api = (path: string) => `${e.url}/api/v1${path}`;

  beforeAll(async () => {
    e = await startEngine({}, { extraImports: [PipelineProbeModule] });
    probe = e.engine.app.get(PipelineProbe);
    serializer = e.engine.app.get(SessionSerializer);
  });
  afterAll(() => e?.stop());

  /** The session the global interceptor saw the last request to `path` serialized under. */
  const lastSession = (path: string) => probe.seenFor(`/api/v1${path}`).at(-1)?.session;

  it('finds the session by id or by character name, on every route of the bot', async () => {
    const hs = await request(api('/handshake'), { body: { client: 'openkore', client_version: '3', character_name: 'Identity1' } });
    const sid = hs.body.data.session_id as string;
    expect(lastSession('/handshake')).toBe(sid);

    const decide = await request(api('/decide'), { body: { game_state: pluginGameState({ name: 'Identity1' }) } });
    expect([decide.status, decide.body.session_id, lastSession('/decide')]).toEqual([200, sid, sid]);

    const state = await request(api('/state'), { body: { session_id: sid, patch: { character: { hp: 700 } } } });
    expect([state.status, lastSession('/state')]).toEqual([200, sid]);

    const byName = await request(api('/action_feedback'), { body: { action: 'attack_monster', status: 'success', character_name: 'Identity1' } });
    expect([byName.status, lastSession('/action_feedback')]).toEqual([200, sid]);
    const byId = await request(api('/action_feedback'), { body: { action: 'attack_monster', status: 'failure', session_id: sid } });
    expect([byId.status, lastSession('/action_feedback')]).toEqual([200, sid]);

    const chat = await request(api('/social/chat'), {
      body: { character_name: 'Identity1', player_name: 'Friend', message: 'hi', message_type: 'whisper', my_level: 10, my_job: 'Knight' },
    });
    expect([chat.status, lastSession('/social/chat')]).toEqual([200, sid]);

    // A second handshake naming the character joins its session rather than opening another.
    const again = await request(api('/handshake'), { body: { client: 'openkore', client_version: '4', pid: 7, character_name: 'Identity1' } });
    expect(again.body.data.session_id).toBe(sid);
    expect((await request(api(`/sessions/${sid}`))).body.data).toMatchObject({ client_version: '4', pid: 7, character_name: 'Identity1' });

    // A pure read of published state takes no turn.
    const read = await request(api(`/state/${sid}`));
    expect([read.status, lastSession(`/state/${sid}`)]).toEqual([200, undefined]);
  });

  it('the plugin’s first request opens the character’s session, which a later handshake joins', async () => {
    const decide = await request(api('/decide'), { body: { game_state: pluginGameState({ name: 'Identity2' }) } });
    const sid = decide.body.session_id as string;
    expect(lastSession('/decide')).toBe(sid);
    const hs = await request(api('/handshake'), { body: { client: 'openkore', client_version: '3', character_name: 'Identity2' } });
    expect(hs.body.data.session_id).toBe(sid);
  });

  it('a bot driven through /decide, /state and /action_feedback at once is never in two handlers at the same time', async () => {
    const name = 'Overlap1';
    const hs = await request(api('/handshake'), { body: { client: 'openkore', client_version: '3', character_name: name } });
    const sid = hs.body.data.session_id as string;
    await request(api('/state'), { body: { session_id: sid, game_state: pluginGameState({ name }) } });
    const seenBefore = probe.seen.filter((s) => s.session === sid).length;
    let deepestQueue = 0;
    const watching = setInterval(() => (deepestQueue = Math.max(deepestQueue, serializer.queueDepth(sid))), 1);
    const rounds = 40;
    // Tagged for the probe's overlap count, which is kept per bot whatever the pipeline decides.
    const tagged = { [BOT_HEADER]: name };
    const send = (path: string, body: unknown) => request(api(path), { body, headers: tagged });
    let answers: Array<{ status: number }>;
    try {
      answers = await Promise.all(
        Array.from({ length: rounds }, (_, i) => [
          send('/decide', { game_state: pluginGameState({ name, hp: 900 - i }) }),
          send('/decide?via=fastify', { game_state: pluginGameState({ name, hp: 800 - i }) }),
          send('/state', { session_id: sid, patch: { character: { sp: 100 + i } } }),
          send('/state?via=fastify', { session_id: sid, patch: { character: { sp: 50 + i } } }),
          send('/action_feedback', { action: 'attack_monster', status: i % 2 ? 'success' : 'failure', character_name: name }),
          send('/action_feedback', { action: 'use_item', status: 'success', session_id: sid }),
        ]).flat(),
      );
    } finally {
      clearInterval(watching);
    }
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Never were two of the bot's handlers running at once...
    expect(probe.maxConcurrent.get(name)).toBe(1);
    // ...though they did contend (the evidence is not vacuous)...
    expect(deepestQueue).toBeGreaterThan(1);
    // ...and every one of them went through the global interceptor, under the bot's one session.
    expect(probe.seen.filter((s) => s.session === sid).length - seenBefore).toBe(rounds * 6);
    await until(() => serializer.stats().activeSessions === 0, 'every turn released');
  });
});

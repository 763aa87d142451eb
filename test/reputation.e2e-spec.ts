import { DatabaseService } from '../src/common/database/database.service';
import { INTERACTION_EVENTS, syntheticPlayerId } from '../src/modules/reputation';
import { request, startEngine, type RunningEngine } from './support/engine';

describe('reputation over real HTTP', () => {
  let e: RunningEngine;
  let db: DatabaseService;
  const api = (path: string) => `${e.url}/api/v1/social${path}`;
  const adjust = (body: Record<string, unknown>) => request(api('/reputation/adjust'), { body });

  beforeAll(async () => {
    e = await startEngine();
    db = e.engine.app.get(DatabaseService);
  }, 30_000);
  afterAll(async () => {
    await e?.stop();
  }, 30_000);

  it('answers 404 NOT_FOUND for an unknown player and 400 for a malformed id', async () => {
    const missing = await request(api('/reputation/999999'));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    for (const bad of ['-1', 'abc', '1.5', '99999999999999999', '1e3']) {
      const res = await request(api(`/reputation/${bad}`));
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
    const hist = await request(api('/reputation/999999/history'));
    expect(hist.status).toBe(404);
  });

  it('creates a player on first sight, clamps the score and derives the tier', async () => {
    const first = await adjust({ player_id: 1001, player_name: 'Alice', delta: 30, reason: 'helped' });
    expect(first.status).toBe(200);
    expect(first.body.data.reputation).toMatchObject({
      player_id: 1001,
      player_name: 'Alice',
      reputation_score: 30,
      reputation_tier: 'Acquaintance',
      total_interactions: 1,
      positive_interactions: 1,
      negative_interactions: 0,
      is_friend: false,
      is_guild_member: false,
      is_whitelisted: false,
      is_blacklisted: false,
      notes: null,
    });
    expect(first.body.data.change).toMatchObject({ requested_delta: 30, applied_delta: 30, score_before: 0, score_after: 30, tier_before: 'Neutral', tier_after: 'Acquaintance', replayed: false });

    await adjust({ player_id: 1001, player_name: 'Alice', delta: 100, reason: 'saved my life' });
    const capped = await adjust({ player_id: 1001, player_name: 'Alice', delta: 5, reason: 'more' });
    expect(capped.body.data.change).toMatchObject({ score_before: 100, score_after: 100, applied_delta: 0, tier_after: 'Whitelisted' });

    const down = await adjust({ player_id: 1001, player_name: 'Alice', delta: -100, reason: 'scammed' });
    expect(down.body.data.reputation).toMatchObject({ reputation_score: 0, reputation_tier: 'Neutral' });
    const floor = await adjust({ player_id: 1001, player_name: 'Alice', delta: -100, reason: 'scammed again' });
    const floor2 = await adjust({ player_id: 1001, player_name: 'Alice', delta: -100, reason: 'and again' });
    expect(floor.body.data.reputation.reputation_tier).toBe('Blocked');
    expect(floor2.body.data.change).toMatchObject({ score_before: -100, score_after: -100, applied_delta: 0 });

    const got = await request(api('/reputation/1001'));
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject({ reputation_score: -100, reputation_tier: 'Blocked', total_interactions: 6, positive_interactions: 3, negative_interactions: 3 });
    for (const f of ['first_seen', 'last_seen', 'created_at', 'updated_at']) expect(new Date(got.body.data[f]).toISOString()).toBe(got.body.data[f]);
  });

  it('validates the adjustment body', async () => {
    const ok = { player_id: 1002, player_name: 'Bob', delta: 1, reason: 'r' };
    const cases: Array<Record<string, unknown>> = [
      { ...ok, delta: 101 },
      { ...ok, delta: -101 },
      { ...ok, delta: 1.5 },
      { ...ok, delta: '5' },
      { ...ok, player_id: -1 },
      { ...ok, player_id: 2 ** 53 },
      { ...ok, player_name: '' },
      { ...ok, player_name: 'a\u0001b' },
      { ...ok, reason: '' },
      { ...ok, reason: 'x'.repeat(201) },
      { ...ok, request_id: 'has space' },
      { ...ok, extra: 1 },
      { player_id: 1002, player_name: 'Bob', reason: 'no delta' },
    ];
    for (const body of cases) {
      const res = await adjust(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
    expect((await request(api('/reputation/1002'))).status).toBe(404);
  });

  it('pages the history newest first with a bounded limit', async () => {
    for (let i = 1; i <= 7; i++) await adjust({ player_id: 1003, player_name: 'Carol', delta: i % 2 ? 1 : -1, reason: `step ${i}` });
    const page1 = await request(api('/reputation/1003/history?limit=3'));
    expect(page1.status).toBe(200);
    expect(page1.body.data.items.map((h: { outcome: string }) => h.outcome)).toEqual(['step 7', 'step 6', 'step 5']);
    expect(page1.body.data.items[0]).toMatchObject({ player_id: 1003, interaction_type: 'adjust', reputation_delta: 1, source: 'api' });
    const page2 = await request(api(`/reputation/1003/history?limit=3&before_id=${page1.body.data.next_before_id}`));
    const page3 = await request(api(`/reputation/1003/history?limit=3&before_id=${page2.body.data.next_before_id}`));
    expect(page2.body.data.items.map((h: { outcome: string }) => h.outcome)).toEqual(['step 4', 'step 3', 'step 2']);
    expect(page3.body.data.items.map((h: { outcome: string }) => h.outcome)).toEqual(['step 1']);
    expect(page3.body.data.next_before_id).toBeNull();
    for (const q of ['limit=0', 'limit=201', 'limit=x', 'before_id=0', 'page=2']) {
      const res = await request(api(`/reputation/1003/history?${q}`));
      expect(res.status).toBe(400);
    }
  });

  it('applies the interaction rule table and lists the known events for an unknown one', async () => {
    const trade = await request(api('/interaction'), { body: { player_id: 1004, player_name: 'Dave', event: 'fair_trade' } });
    expect(trade.status).toBe(200);
    expect(trade.body.data.change).toMatchObject({ interaction_type: 'fair_trade', requested_delta: 5, score_after: 5 });
    const scam = await request(api('/interaction'), { body: { player_id: 1004, player_name: 'Dave', event: 'attempted_scam' } });
    expect(scam.body.data.reputation).toMatchObject({ reputation_score: -25, reputation_tier: 'Suspicious', total_interactions: 2, negative_interactions: 1 });

    const unknown = await request(api('/interaction'), { body: { player_id: 1004, player_name: 'Dave', event: 'stole_my_lunch' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('INVALID_REQUEST');
    for (const ev of INTERACTION_EVENTS) expect(unknown.body.error.message).toContain(ev);

    const rules = await request(api('/interaction/rules'));
    expect(rules.body.data.rules).toContainEqual(expect.objectContaining({ event: 'fair_trade', delta: 5 }));
    expect(rules.body.data.rules).toContainEqual(expect.objectContaining({ event: 'attempted_scam', delta: -30 }));
    expect(rules.body.data.tiers[0]).toEqual({ tier: 'Whitelisted', min_score: 100 });

    const noSession = await request(api('/interaction'), {
      body: { player_id: 1004, player_name: 'Dave', event: 'fair_trade', session_id: '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f' },
    });
    expect(noSession.status).toBe(404);
    expect((await request(api('/reputation/1004'))).body.data.total_interactions).toBe(2);
  });

  it('applies a request_id once, and refuses it for a different change', async () => {
    const body = { player_id: 1005, player_name: 'Erin', delta: 7, reason: 'idempotent', request_id: 'req-1005-a' };
    const a = await adjust(body);
    const b = await adjust(body);
    expect(a.body.data.change.replayed).toBe(false);
    expect(b.status).toBe(200);
    expect(b.body.data.change).toMatchObject({ replayed: true, history_id: a.body.data.change.history_id, score_after: 7 });
    expect(b.body.data.reputation).toMatchObject({ reputation_score: 7, total_interactions: 1 });
    const clash = await adjust({ ...body, delta: 8 });
    expect(clash.status).toBe(400);
    expect(clash.body.error.details.request_id).toBe('req-1005-a');
    const rows = await db.all('SELECT id FROM interaction_history WHERE request_id = ?', ['req-1005-a']);
    expect(rows).toHaveLength(1);
  });

  describe('plugin compatibility routes', () => {
    const chat = (body: Record<string, unknown>) => request(api('/chat'), { body });
    const base = { character_name: 'MyKnight', message_type: 'whisper', my_level: 87, my_job: 'Knight' };

    it('answers chat in the flat shape every plugin build reads, and records the interaction', async () => {
      const res = await chat({ ...base, player_name: 'Stranger', message: 'what level are you?' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBeUndefined();
      const params = { target: 'Stranger', message: "I'm level 87.", message_type: 'pm' };
      expect(res.body).toMatchObject({ action: 'chat_response', type: 'chat_response', params, parameters: params, rule: 'level', reputation_tier: 'Neutral' });
      expect(typeof res.body.reason).toBe('string');
      // Only the name was known: the player got the stable synthetic id for it.
      expect(res.body.player_id).toBe(syntheticPlayerId('Stranger'));
      const rep = await request(api(`/reputation/${res.body.player_id}`));
      expect(rep.body.data).toMatchObject({ player_name: 'Stranger', total_interactions: 1, reputation_score: 0 });
      const hist = await request(api(`/reputation/${res.body.player_id}/history`));
      expect(hist.body.data.items[0]).toMatchObject({ interaction_type: 'chat_message', source: 'compat', character_name: 'MyKnight', reputation_delta: 0 });
      expect(hist.body.data.items[0].session_id).toMatch(/^[0-9a-f-]{36}$/);
      const stats = await db.get<{ social_interactions: number }>('SELECT social_interactions FROM player_sessions WHERE session_id = ?', [hist.body.data.items[0].session_id]);
      expect(stats?.social_interactions).toBe(1);
    });

    it('declines trades from low-reputation players, ignores blocked ones, greets friends warmly', async () => {
      const lowTrade = await chat({ ...base, player_name: 'Shady', message: 'wanna trade? cheap zeny' });
      expect(lowTrade.body).toMatchObject({ action: 'chat_response', rule: 'trade_decline' });
      expect(lowTrade.body.params.message).toMatch(/not trading/i);

      await adjust({ player_id: 2001, player_name: 'Pal', delta: 60, reason: 'old friend' });
      const friendTrade = await chat({ ...base, player_name: 'Pal', message: 'trade?' });
      expect(friendTrade.body).toMatchObject({ action: 'chat_response', rule: 'trade_accept', player_id: 2001 });
      const hello = await chat({ ...base, player_name: 'Pal', message: 'hello!' });
      expect(hello.body.params.message).toBe('Hey Pal! Good to see you.');

      await adjust({ player_id: 2002, player_name: 'Griefer', delta: -80, reason: 'pk' });
      const blocked = await chat({ ...base, player_name: 'Griefer', message: 'hi' });
      expect(blocked.body).toMatchObject({ action: 'none', type: 'none', rule: 'blocked', params: {}, parameters: {} });

      const publicNotMine = await chat({ ...base, message_type: 'public', player_name: 'Pal', message: 'hello everyone' });
      expect(publicNotMine.body).toMatchObject({ action: 'none', rule: 'not_addressed' });
      const publicMine = await chat({ ...base, message_type: 'public', player_name: 'Pal', message: 'hi MyKnight' });
      expect(publicMine.body).toMatchObject({ action: 'chat_response', params: { message_type: 'public' } });
      // Perl may send numbers as strings, and null for an unknown level.
      const loose = await chat({ ...base, my_level: '12', player_name: 'Pal', message: 'your lvl?' });
      expect(loose.body.params.message).toBe("I'm level 12.");
      const nullLevel = await chat({ ...base, my_level: null, player_name: 'Pal', message: 'thanks' });
      expect(nullLevel.body).toMatchObject({ action: 'chat_response', rule: 'thanks' });
      expect((await request(api('/reputation/2001'))).body.data.total_interactions).toBe(7);
    });

    it('accepts party invites from Acquaintance and better, declines strangers and the blocked', async () => {
      const invite = (player_name: string, extra: Record<string, unknown> = {}) =>
        request(api('/party_invite'), { body: { character_name: 'MyKnight', player_name, my_level: 87, ...extra } });
      const pal = await invite('Pal');
      expect(pal.status).toBe(200);
      expect(pal.body).toMatchObject({ action: 'accept_party', type: 'accept_party', player_id: 2001 });
      expect((await invite('Nobody')).body).toMatchObject({ action: 'decline_party', reputation_tier: 'Neutral' });
      expect((await invite('Griefer')).body).toMatchObject({ action: 'decline_party', rule: 'blocked' });
      await adjust({ player_id: 2003, player_name: 'Acq', delta: 25, reason: 'ok' });
      expect((await invite('Acq', { player_id: 2003 })).body).toMatchObject({ action: 'accept_party', player_id: 2003 });
      const bad = await request(api('/party_invite'), { body: { player_name: 'x' } });
      expect(bad.status).toBe(400);
    });
  });

  it('documents the routes and DTOs in the OpenAPI document', async () => {
    const doc = await request(`${e.url}/docs-json`);
    for (const p of ['/api/v1/social/reputation/{playerId}', '/api/v1/social/reputation/{playerId}/history', '/api/v1/social/reputation/adjust', '/api/v1/social/interaction', '/api/v1/social/chat', '/api/v1/social/party_invite', '/api/v1/flags']) {
      expect(doc.body.paths[p]).toBeDefined();
    }
    expect(doc.body.components.schemas.AdjustReputationDto.properties.delta).toMatchObject({ minimum: -100, maximum: 100 });
    expect(doc.body.components.schemas.InteractionDto.properties.event.enum).toContain('fair_trade');
    expect(doc.body.paths['/api/v1/social/reputation/{playerId}'].get.responses['404']).toBeDefined();
  });
});

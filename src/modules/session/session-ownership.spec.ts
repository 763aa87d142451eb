import { Logger } from '@nestjs/common';
import type { SqlParams, WriteBody, WriteOptions, WriteTx } from '../../common/database/database.service';
import { SessionElsewhereError } from '../../common/errors/app.error';
import { type GameState, StateService } from '../state';
import type { HandshakeDto } from './dto/handshake.dto';
import { OWNERSHIP_TEST_TTL_MS, OwnershipTestCluster, type OwnershipTestInstance } from './session-ownership.test-kit';

const TTL = OWNERSHIP_TEST_TTL_MS;
const game = (hp: number) => ({ character: { name: 'Knight', hp } }) as unknown as GameState;

/** One engine instance with its game state. */
type Instance = OwnershipTestInstance & { state: StateService };

describe('session ownership across instances (one SQLite file, a fake clock)', () => {
  let cluster: OwnershipTestCluster;

  function instance(id: string): Promise<Instance> {
    return cluster.instance(
      id,
      async ({ db, sessions, ownership, repo }) => {
        const state = new StateService(db.service, sessions, undefined, ownership, repo);
        await state.onModuleInit();
        return { state };
      },
      ({ state }) => state.beforeApplicationShutdown(),
    );
  }

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    cluster = await OwnershipTestCluster.open();
  });
  afterEach(() => cluster.close());
  const advance = (ms: number) => cluster.advance(ms);

  const lease = (i: Instance, id: string) => i.repo.lease(id);
  const persisted = (i: Instance, id: string) => i.repo.persistedSnapshot(id);
  const sessionRow = (i: Instance, id: string) => i.repo.sessionRow(id);
  /** Past the session TTL on the real clock the session rows use. */
  const afterSessionTtl = () => Date.now() + 3_600_001;

  /** Every statement the instance's write transactions run from now, until `restore()`. */
  function recordStatements(i: Instance): { statements: string[]; restore: () => void } {
    const statements: string[] = [];
    const recording = (tx: WriteTx): WriteTx => ({
      dialect: tx.dialect,
      run: (sql: string, params?: SqlParams) => {
        statements.push(sql);
        return tx.run(sql, params);
      },
      get: <T>(sql: string, params?: SqlParams) => {
        statements.push(sql);
        return tx.get<T>(sql, params);
      },
      all: <T>(sql: string, params?: SqlParams) => {
        statements.push(sql);
        return tx.all<T>(sql, params);
      },
    });
    const service = i.db.service;
    const write = service.write.bind(service);
    const spy = jest
      .spyOn(service, 'write')
      .mockImplementation(((body: WriteBody<unknown>, options?: WriteOptions) => write((tx) => body(recording(tx)), options)) as typeof service.write);
    return { statements, restore: () => spy.mockRestore() };
  }

  it('a fenced write is one statement: the fence is the upsert condition, with no read of the lease before it', async () => {
    const a = await instance('A');
    const ids = [await a.sessions.sessionIdFor({ characterName: 'Knight' }), await a.sessions.sessionIdFor({ characterName: 'Priest' })];
    for (const id of ids) await a.state.apply(id, { full: game(100) });
    const { statements, restore } = recordStatements(a);
    try {
      await a.state.flush();
    } finally {
      restore();
    }
    expect(statements).toHaveLength(ids.length);
    for (const sql of statements) expect(sql).toMatch(/^INSERT INTO game_state_snapshots .* WHERE EXISTS \(SELECT 1 FROM session_leases WHERE session_id = \? AND instance_id = \? AND token = \?\) ON CONFLICT/s);
    for (const id of ids) expect(await persisted(a, id)).toMatchObject({ version: 1 });
  });

  it('a snapshot the stored one is newer than is not written, and is no fence refusal: the lease and the state stay', async () => {
    const a = await instance('A');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.state.apply(id, { full: game(100) });
    await a.db.service.write((tx) => tx.run(`INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at) VALUES (?, 9, '{}', 0)`, [id]));
    await a.state.flush();
    expect(await persisted(a, id)).toMatchObject({ version: 9 });
    expect(a.ownership.tokenOf(id)).toBe(1);
    expect(a.ownership.holds(id)).toBe(true);
    expect(a.state.current(id)).toMatchObject({ version: 1 });
  });

  it('a character is one session cluster-wide: the first instance creates and leases it, the other is refused with the owner named', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    expect(a.ownership.holds(id)).toBe(true);
    // Held: the hot path answers without a promise.
    expect(a.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    const refused = await Promise.resolve(b.sessions.sessionIdFor({ characterName: 'Knight' })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SessionElsewhereError);
    expect((refused as SessionElsewhereError).details).toMatchObject({ session_id: id, instance_id: 'A', advertised_url: 'http://A.test:9901' });
    const bySession = await Promise.resolve(b.sessions.sessionIdFor({ sessionId: id })).catch((e: unknown) => e);
    expect(bySession).toBeInstanceOf(SessionElsewhereError);
    expect(await lease(a, id)).toMatchObject({ instance_id: 'A', token: 1 });
  });

  it('renewal keeps an active session leased past its TTL with no take; an idle one lapses and is taken over with a larger token', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    for (let t = 0; t < 5; t++) {
      advance(TTL / 3);
      expect(a.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
      await a.ownership.renew();
    }
    await expect(Promise.resolve(b.sessions.sessionIdFor({ sessionId: id }))).rejects.toBeInstanceOf(SessionElsewhereError);
    expect(await lease(a, id)).toMatchObject({ instance_id: 'A', token: 1 });
    // A stops serving it (idle, or dead): no renewal, and after the TTL B takes it.
    advance(TTL + 1);
    await expect(Promise.resolve(b.sessions.sessionIdFor({ sessionId: id }))).resolves.toBe(id);
    expect(await lease(b, id)).toMatchObject({ instance_id: 'B', token: 2 });
    expect(b.ownership.holds(id)).toBe(true);
  });

  it('take-over resumes from the last persisted snapshot; the paused old owner flush is refused and cannot overwrite the new owner', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.state.apply(id, { full: game(100) });
    await a.state.apply(id, { full: game(90) });
    await a.state.flush();
    expect(await persisted(a, id)).toMatchObject({ version: 2 });
    // A goes on in memory, then pauses before its next flush (a stopped process, a long GC).
    await a.state.apply(id, { full: game(80) });
    await a.state.apply(id, { full: game(70) });
    await a.state.apply(id, { full: game(60) });
    advance(TTL + 1);
    // B takes the bot over: its state continues from A's last persisted snapshot (version 2).
    expect(await b.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    expect(b.state.current(id)).toMatchObject({ version: 2, state: { character: { hp: 90 } } });
    const next = await b.state.apply(id, { full: game(85) });
    expect(next.version).toBe(3);
    await b.state.flush();
    // A wakes up and flushes version 5 > 3: the fence refuses it (a version check alone would let it through).
    await a.state.flush();
    expect(await persisted(a, id)).toMatchObject({ version: 3 });
    expect(JSON.parse((await persisted(a, id))!.state_json)).toMatchObject({ character: { hp: 85 } });
    // A has let go of the session: its next request for it is refused, naming B.
    expect(a.ownership.tokenOf(id)).toBeUndefined();
    expect(a.state.current(id)).toBeUndefined();
    const refused = await Promise.resolve(a.sessions.sessionIdFor({ sessionId: id })).catch((e: unknown) => e);
    expect((refused as SessionElsewhereError).details).toMatchObject({ instance_id: 'B', advertised_url: 'http://B.test:9901' });
  });

  it('a lease that lapsed with nobody taking it is taken again under the same token: memory and pending writes stay valid', async () => {
    const a = await instance('A');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.state.apply(id, { full: game(100) });
    advance(TTL + 1);
    expect(a.ownership.holds(id)).toBe(false);
    expect(await a.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    expect(await lease(a, id)).toMatchObject({ instance_id: 'A', token: 1 });
    expect(a.state.current(id)).toMatchObject({ version: 1 });
    await a.state.flush();
    expect(await persisted(a, id)).toMatchObject({ version: 1 });
  });

  it('shutdown writes the state, then releases the leases: another instance takes over at once and finds the last state', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    await a.state.apply(id, { full: game(42) });
    await a.ownership.close();
    expect(await lease(b, id)).toMatchObject({ instance_id: null, token: 1 });
    expect(await b.sessions.sessionIdFor({ characterName: 'Knight' })).toBe(id);
    expect(b.state.current(id)).toMatchObject({ version: 1, state: { character: { hp: 42 } } });
    expect(await lease(b, id)).toMatchObject({ instance_id: 'B', token: 2 });
  });

  it('an ownership never started and holding no lease (SESSION_LEASES off) writes nothing at shutdown', async () => {
    const a = await instance('A');
    const writes = jest.spyOn(a.db.service, 'write');
    try {
      await a.ownership.beforeApplicationShutdown();
      expect(writes).not.toHaveBeenCalled();
    } finally {
      writes.mockRestore();
    }
    // Once it heartbeat, its shutdown retires it (one write).
    const b = await instance('B');
    await b.ownership.renew();
    const bWrites = jest.spyOn(b.db.service, 'write');
    try {
      await b.ownership.close();
      expect(bWrites).toHaveBeenCalledTimes(1);
    } finally {
      bWrites.mockRestore();
    }
    expect((await a.ownership.cluster()).instances).toEqual([]);
  });

  it('GET /admin/cluster data: live instances with their lease counts; a retired instance is gone', async () => {
    const a = await instance('A');
    const b = await instance('B');
    await a.ownership.renew();
    await b.ownership.renew();
    await a.sessions.sessionIdFor({ characterName: 'One' });
    await a.sessions.sessionIdFor({ characterName: 'Two' });
    await b.sessions.sessionIdFor({ characterName: 'Three' });
    const report = await a.ownership.cluster();
    expect(report.instance).toEqual({ instance_id: 'A', advertised_url: 'http://A.test:9901', leases_held: 2 });
    expect(report.instances.map((i) => [i.instance_id, i.leases])).toEqual([
      ['A', 2],
      ['B', 1],
    ]);
    await b.ownership.close();
    expect((await a.ownership.cluster()).instances.map((i) => i.instance_id)).toEqual(['A']);
  });

  it('session rows are inserted with portable SQL (ON CONFLICT DO NOTHING, not SQLite OR IGNORE)', async () => {
    const a = await instance('A');
    const { statements, restore } = recordStatements(a);
    try {
      const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
      // A handshake of a character with a session, and a row made sure of inside another write.
      expect((await a.sessions.handshake({ client: 'test-client', client_version: '2.0', character_name: 'Knight' } as HandshakeDto)).session_id).toBe(id);
      await a.db.service.write((tx) => a.sessions.ensureRow(tx, id));
      expect(statements.some((sql) => /ON CONFLICT \(session_id\) DO NOTHING/.test(sql))).toBe(true);
      expect(statements.filter((sql) => /\bOR\s+(IGNORE|REPLACE)\b/i.test(sql))).toEqual([]);
    } finally {
      restore();
    }
    expect(await a.db.service.all('SELECT session_id, client_version FROM player_sessions')).toEqual([{ session_id: expect.any(String), client_version: '2.0' }]);
  });

  it('leases taken before the engine knew its address carry it from the first renewal on', async () => {
    const a = await instance('A');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    expect(await lease(a, id)).toMatchObject({ advertised_url: 'http://A.test:9901' });
    // Listening now, on the address the engine learned (start renews at once).
    await a.ownership.start('http://10.0.0.7:9911');
    try {
      expect(await lease(a, id)).toMatchObject({ instance_id: 'A', token: 1, advertised_url: 'http://10.0.0.7:9911' });
      expect((await a.ownership.cluster()).instance.advertised_url).toBe('http://10.0.0.7:9911');
    } finally {
      await a.ownership.close();
    }
  });

  it('a lease outlives its bot last request by at most the TTL after the renewal that follows it', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    const lastRequest = cluster.clock;
    // The renewal right after the request renews it; the next ones (no request since) do not.
    await a.ownership.renew();
    for (let t = 0; t < 2; t++) {
      advance(TTL / 3);
      await a.ownership.renew();
    }
    expect(await lease(a, id)).toMatchObject({ instance_id: 'A', expires_at: lastRequest + TTL });
    cluster.clock = lastRequest + TTL + 1;
    await expect(Promise.resolve(b.sessions.sessionIdFor({ sessionId: id }))).resolves.toBe(id);
  });

  it('an instance whose idle bot moved to another lets it go at its next renewal; its sweep never expires the new owner row', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    // The bot goes quiet on A (no renewal of an unused lease), then talks to B once A's lease lapsed.
    advance(TTL + 1);
    expect(await b.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    expect(await lease(b, id)).toMatchObject({ instance_id: 'B', token: 2 });
    // A's renewal reads the lapsed lease's row, finds it taken, and evicts the session.
    await a.ownership.renew();
    expect(a.ownership.tokenOf(id)).toBeUndefined();
    expect(a.sessions.exists(id)).toBe(false);
    // So A's sweep, a session TTL later, has nothing of it to expire.
    await a.sessions.sweep(afterSessionTtl());
    expect(await sessionRow(b, id)).toMatchObject({ status: 'active', expiredAt: null });
    expect(b.ownership.holds(id)).toBe(true);
  });

  it('the sweep never expires a session whose lease another instance took since: it evicts it instead', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    advance(TTL + 1);
    expect(await b.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    // No renewal on A in between (paused): its sweep is the first to run.
    await a.sessions.sweep(afterSessionTtl());
    expect(await sessionRow(b, id)).toMatchObject({ status: 'active', expiredAt: null });
    expect(a.sessions.exists(id)).toBe(false);
    expect(a.ownership.tokenOf(id)).toBeUndefined();
    expect(await lease(b, id)).toMatchObject({ instance_id: 'B', token: 2 });
    // A session whose lease is still A's (lapsed, nobody took it) is expired and released as before.
    const other = await a.sessions.sessionIdFor({ characterName: 'Priest' });
    advance(TTL + 1);
    await a.sessions.sweep(afterSessionTtl());
    expect(await sessionRow(a, other)).toMatchObject({ status: 'expired' });
    expect(await lease(a, other)).toMatchObject({ instance_id: null, token: 1 });
  });

  it('a request for a session another live instance holds is refused on a read, without a write transaction', async () => {
    const a = await instance('A');
    const b = await instance('B');
    const id = await a.sessions.sessionIdFor({ characterName: 'Knight' });
    const writes = jest.spyOn(b.db.service, 'write');
    try {
      const bySession = await Promise.resolve(b.sessions.sessionIdFor({ sessionId: id })).catch((e: unknown) => e);
      expect(bySession).toBeInstanceOf(SessionElsewhereError);
      expect((bySession as SessionElsewhereError).details).toMatchObject({ session_id: id, instance_id: 'A', advertised_url: 'http://A.test:9901' });
      const byCharacter = await Promise.resolve(b.sessions.sessionIdFor({ characterName: 'Knight' })).catch((e: unknown) => e);
      expect(byCharacter).toBeInstanceOf(SessionElsewhereError);
      expect(writes).not.toHaveBeenCalled();
    } finally {
      writes.mockRestore();
    }
    // Once A's lease lapsed, the take (a transaction) goes ahead.
    advance(TTL + 1);
    expect(await b.sessions.sessionIdFor({ sessionId: id })).toBe(id);
  });

  it('the first lease of a session opened here by a handshake keeps what this instance has of it (no reload)', async () => {
    const a = await instance('A');
    const { session_id: id } = await a.sessions.handshake({ client: 'test-client', client_version: '1.0' } as HandshakeDto);
    a.sessions.touch(id);
    a.sessions.touch(id);
    await a.state.apply(id, { full: game(50) });
    expect(await lease(a, id)).toBeUndefined();
    expect(await a.sessions.sessionIdFor({ sessionId: id })).toBe(id);
    expect(await lease(a, id)).toMatchObject({ instance_id: 'A', token: 1 });
    // Not taken over from anyone: the pending activity and the game state stay.
    expect(a.sessions.get(id).request_count).toBe(2);
    expect(a.state.current(id)).toMatchObject({ version: 1, state: { character: { hp: 50 } } });
    await a.sessions.flush();
    expect(await sessionRow(a, id)).toMatchObject({ requestCount: 2, status: 'active' });
  });
});

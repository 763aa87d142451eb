import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { CreateProcessFlags1764288000001 } from '../../common/database/migrations/1764288000001-create-process-flags';
import { FlagKindMismatchError } from './flag.errors';
import { FlagService } from './flag.service';

/** Two FlagServices (two "processes") on one database file, each on its own connection and clock. */
describe('FlagService', () => {
  let dir: string;
  let a: StandaloneDatabase;
  let b: StandaloneDatabase;
  let clock: number;
  const now = () => clock;
  let flagsA: FlagService;
  let flagsB: FlagService;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-flags-'));
    const file = path.join(dir, 'flags.db');
    a = openStandaloneDatabase(file);
    await applyMigrations(a.connection, [CreateProcessFlags1764288000001]);
    b = openStandaloneDatabase(file);
    clock = 1_000_000;
    flagsA = new FlagService(a.service, { now, ownerId: 'host:1:aaaa' });
    flagsB = new FlagService(b.service, { now, ownerId: 'host:2:bbbb' });
  });

  afterEach(async () => {
    await flagsA.close();
    await flagsB.close();
    a.close();
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives a free flag to exactly one owner until it is released', async () => {
    const lease = await flagsA.tryAcquire('pdca_running', 1000, { heartbeat: false });
    expect(lease).toMatchObject({ flag: 'pdca_running', owner: 'host:1:aaaa', token: 1, expiresAt: clock + 1000 });
    expect(await flagsB.tryAcquire('pdca_running', 1000, { heartbeat: false })).toBeNull();
    // Not re-entrant either: the same process asking again is refused.
    expect(await flagsA.tryAcquire('pdca_running', 1000, { heartbeat: false })).toBeNull();
    expect(await flagsB.isSet('pdca_running')).toBe(true);
    expect(await flagsB.get('pdca_running')).toMatchObject({ held: true, owner: 'host:1:aaaa', token: 1 });

    expect(await flagsA.release(lease!)).toBe(true);
    expect(await flagsB.isSet('pdca_running')).toBe(false);
    const next = await flagsB.tryAcquire('pdca_running', 1000, { heartbeat: false });
    expect(next).toMatchObject({ owner: 'host:2:bbbb', token: 2 });
    // A second release of the old lease changes nothing.
    expect(await flagsA.release(lease!)).toBe(false);
    expect(await flagsA.get('pdca_running')).toMatchObject({ held: true, owner: 'host:2:bbbb' });
  });

  it('lets another owner take an expired lease, with a larger fencing token; the old holder can neither renew nor release it', async () => {
    const lost = jest.fn();
    const old = await flagsA.tryAcquire('model_updating', 500, { heartbeat: false, onLost: lost });
    clock += 499;
    expect(await flagsB.tryAcquire('model_updating', 500, { heartbeat: false })).toBeNull();
    clock += 1; // expires_at <= now: expired
    expect(await flagsA.isSet('model_updating')).toBe(false);
    const taken = await flagsB.tryAcquire('model_updating', 500, { heartbeat: false });
    expect(taken!.token).toBeGreaterThan(old!.token);
    expect(await flagsA.heartbeat(old!)).toBe(false);
    expect(old!.lost).toBe(true);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(await flagsA.release(old!)).toBe(false);
    expect(await flagsA.get('model_updating')).toMatchObject({ held: true, owner: 'host:2:bbbb', token: taken!.token });
  });

  it('extends a lease on heartbeat; a late heartbeat loses the lease even before anyone takes it', async () => {
    const lease = await flagsA.tryAcquire('training_in_progress', 300, { heartbeat: false });
    clock += 200;
    expect(await flagsA.heartbeat(lease!)).toBe(true);
    expect(lease!.expiresAt).toBe(clock + 300);
    clock += 200; // past the original expiry, within the renewed one
    expect(await flagsB.tryAcquire('training_in_progress', 300, { heartbeat: false })).toBeNull();
    clock += 100; // exactly at expiry
    expect(await flagsA.heartbeat(lease!)).toBe(false);
    expect(lease!.active).toBe(false);
    expect(await flagsB.tryAcquire('training_in_progress', 300, { heartbeat: false })).not.toBeNull();
  });

  it('renews on its own unref’d timer until released, and close() releases what is held', async () => {
    // Real time for the timer; the clock follows it.
    clock = Date.now();
    const realNow = () => Date.now();
    const svc = new FlagService(a.service, { now: realNow, ownerId: 'host:1:timer' });
    // A TTL with room for a loaded machine: a heartbeat later than 2/3 of it would lose the lease.
    const lease = await svc.tryAcquire('emergency_stop', 900);
    const first = (await svc.get('emergency_stop'))!.heartbeat_at!;
    await waitFor(async () => ((await svc.get('emergency_stop'))!.heartbeat_at ?? 0) > first);
    expect(lease!.active).toBe(true);
    expect(svc.heldLeases()).toEqual([lease]);
    await svc.close();
    expect(lease!.released).toBe(true);
    expect(svc.heldLeases()).toEqual([]);
    expect(await svc.get('emergency_stop')).toMatchObject({ held: false, owner: null });
    await expect(svc.tryAcquire('emergency_stop', 900)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('withLease runs the body only for the winner and always releases', async () => {
    const held = await flagsB.tryAcquire('pdca_running', 1000, { heartbeat: false });
    const body = jest.fn(() => 42);
    expect(await flagsA.withLease('pdca_running', 1000, body)).toMatchObject({ acquired: false, holder: { owner: 'host:2:bbbb' } });
    expect(body).not.toHaveBeenCalled();
    await flagsB.release(held!);
    expect(await flagsA.withLease('pdca_running', 1000, body)).toEqual({ acquired: true, value: 42 });
    await expect(
      flagsA.withLease('pdca_running', 1000, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await flagsA.isSet('pdca_running')).toBe(false);
  });

  it('counts versions atomically from both connections, inside a caller transaction too', async () => {
    expect(await flagsA.getVersion('state_version')).toBe(0);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => flagsA.incrementVersion('state_version')),
      ...Array.from({ length: 20 }, () => flagsB.incrementVersion('state_version')),
    ]);
    expect(new Set(results).size).toBe(40);
    expect(await flagsB.getVersion('state_version')).toBe(40);
    await expect(
      a.service.write(async (tx) => {
        await flagsA.incrementVersionIn(tx, 'state_version');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await flagsA.getVersion('state_version')).toBe(40);
  });

  it('keeps flags and counters apart and validates names and TTLs', async () => {
    await flagsA.incrementVersion('model_version');
    await expect(flagsA.tryAcquire('model_version', 1000)).rejects.toBeInstanceOf(FlagKindMismatchError);
    await flagsA.tryAcquire('pdca_running', 1000, { heartbeat: false });
    await expect(flagsA.incrementVersion('pdca_running')).rejects.toBeInstanceOf(FlagKindMismatchError);
    await expect(flagsA.tryAcquire('Bad Name', 1000)).rejects.toThrow(TypeError);
    await expect(flagsA.tryAcquire('ok', 1)).rejects.toThrow(TypeError);
    await expect(flagsA.tryAcquire('ok', 1.5)).rejects.toThrow(TypeError);
    expect((await flagsA.list()).map((f) => [f.name, f.kind])).toEqual([
      ['model_version', 'counter'],
      ['pdca_running', 'flag'],
    ]);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

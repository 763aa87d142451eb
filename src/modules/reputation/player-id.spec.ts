import fc from 'fast-check';
import { isSyntheticPlayerId, MAX_PLAYER_ID, parsePlayerId, requirePlayerId, SYNTHETIC_ID_BASE, syntheticPlayerId } from './player-id';

describe('player ids', () => {
  it('maps a name to a stable synthetic id above every game id and below 2^53', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (name) => {
        const id = syntheticPlayerId(name);
        expect(id).toBe(syntheticPlayerId(name));
        expect(Number.isSafeInteger(id)).toBe(true);
        expect(id).toBeGreaterThanOrEqual(SYNTHETIC_ID_BASE);
        expect(id).toBeLessThanOrEqual(MAX_PLAYER_ID);
        expect(isSyntheticPlayerId(id)).toBe(true);
      }),
    );
    expect(syntheticPlayerId('Alice')).not.toBe(syntheticPlayerId('alice'));
    expect(isSyntheticPlayerId(2 ** 32 - 1)).toBe(false);
  });

  it('parses only non-negative decimal safe integers', () => {
    expect(parsePlayerId('0')).toBe(0);
    expect(parsePlayerId('150001')).toBe(150001);
    expect(parsePlayerId(String(MAX_PLAYER_ID))).toBe(MAX_PLAYER_ID);
    for (const bad of ['', '-1', '1.5', '1e3', 'abc', ' 1', '0x10', '9007199254740992', '99999999999999999']) {
      expect(parsePlayerId(bad)).toBeUndefined();
    }
    expect(() => requirePlayerId('1e3')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', status: 400 }));
  });
});

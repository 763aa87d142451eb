import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../../common/errors/app.error';

/**
 * Game ids are unsigned 32-bit (the RO protocol's account ids), so [0, 2^32) holds every real
 * player. Players the plugin only knows by name get a synthetic id at and above 2^32: the
 * SHA-256 of the exact name, first 48 bits, added to 2^32. It is deterministic, so every engine
 * process maps a new name to the same row without coordinating (the upsert inside the write
 * transaction merges concurrent first sightings), and it stays below 2^53 (exact in JSON).
 */
export const SYNTHETIC_ID_BASE = 2 ** 32;
export const MAX_PLAYER_ID = Number.MAX_SAFE_INTEGER;

export function syntheticPlayerId(playerName: string): number {
  const digest = createHash('sha256').update(playerName, 'utf8').digest();
  return SYNTHETIC_ID_BASE + digest.readUIntBE(0, 6);
}

export function isSyntheticPlayerId(playerId: number): boolean {
  return playerId >= SYNTHETIC_ID_BASE;
}

/** A path or body player id: a non-negative safe integer, in decimal. */
export function parsePlayerId(raw: string): number | undefined {
  if (!/^\d{1,16}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id <= MAX_PLAYER_ID ? id : undefined;
}

/** The `:playerId` of a route as a number, or 400 INVALID_REQUEST. */
export function requirePlayerId(raw: string): number {
  const id = parsePlayerId(raw);
  if (id === undefined) {
    throw new InvalidRequestError(`playerId must be a non-negative integer up to ${MAX_PLAYER_ID}`, { field: 'playerId' });
  }
  return id;
}

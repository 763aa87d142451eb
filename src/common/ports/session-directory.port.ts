/**
 * Session identity for the HTTP pipeline (src/common/http): how a request names its session —
 * by id, or by the character it plays — and how that name becomes one session id, so that
 * every route of one bot is serialized under one turn. The session module provides it.
 */
export const SESSION_DIRECTORY = Symbol('SESSION_DIRECTORY');

/** What a request says about its session; a route extracts it (`@SessionFrom`). */
export type SessionRef = { readonly sessionId: string } | { readonly characterName: string };

export interface SessionDirectory {
  /**
   * The session `ref` names: a session id as given (whether it exists is the handler's
   * business), a character's active session — created on first sight, as the plugin in the
   * field never opens one. A promise only when a session has to be created.
   */
  sessionIdFor(ref: SessionRef): string | Promise<string>;
}

/** Bounds of a character name (the plugin's key), as the DTOs validate it. */
const CHARACTER_NAME = /^[^\u0000-\u001f]{1,64}$/;
const MAX_SESSION_ID = 128;

/** `{sessionId}` when `value` can name a session; malformed values are left to validation (a 400). */
export function sessionIdRef(value: unknown): SessionRef | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SESSION_ID ? { sessionId: value } : undefined;
}

/** `{characterName}` when `value` is a valid character name; else undefined (validation refuses it). */
export function characterRef(value: unknown): SessionRef | undefined {
  return typeof value === 'string' && CHARACTER_NAME.test(value) ? { characterName: value } : undefined;
}

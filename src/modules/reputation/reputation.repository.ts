import { Injectable } from '@nestjs/common';
import { DatabaseService, lockingRead, type WriteTx } from '../../common/database/database.service';
import { WriteConflictRetry } from '../../common/database/database.errors';
import { SYNTHETIC_ID_BASE } from './player-id';
import type { HistoryRow, PlayerRow } from './reputation.service';

/** A new player row: everything the unit of work decides. */
export interface NewPlayer {
  playerId: number;
  playerName: string;
  score: number;
  tier: string;
  positive: number;
  negative: number;
  at: number;
}

/** One interaction applied to an existing row, guarded by the score it was decided from. */
export interface PlayerChange {
  playerId: number;
  playerName: string;
  scoreBefore: number;
  score: number;
  tier: string;
  positive: number;
  negative: number;
  at: number;
}

export interface NewHistory {
  playerId: number;
  playerName: string;
  interactionType: string;
  outcome: string;
  delta: number;
  appliedDelta: number;
  scoreBefore: number;
  scoreAfter: number;
  tierAfter: string;
  source: string;
  characterName: string | null;
  sessionId: string | null;
  requestId: string | null;
  at: number;
}

/**
 * Every statement on player_reputation and interaction_history (and the one reputation writes
 * into player_sessions): the unit of work in ReputationService decides, this runs the SQL. Writes
 * take the caller's transaction; reads outside one go through DatabaseService.
 */
@Injectable()
export class ReputationRepository {
  constructor(private readonly db: DatabaseService) {}

  // --- inside a write transaction -------------------------------------------------------------

  historyByRequestId(tx: WriteTx, requestId: string): Promise<HistoryRow | undefined> {
    return tx.get<HistoryRow>('SELECT * FROM interaction_history WHERE request_id = ?', [requestId]);
  }

  async countSessionInteraction(tx: WriteTx, sessionId: string): Promise<void> {
    await tx.run('UPDATE player_sessions SET social_interactions = social_interactions + 1 WHERE session_id = ?', [sessionId]);
  }

  /**
   * The plugin often knows only a name. A row already seen under that exact name is reused,
   * preferring a real game id (below 2^32) over a synthetic one, then the most recently seen.
   */
  async playerIdByName(tx: WriteTx, playerName: string): Promise<number | undefined> {
    const row = await tx.get<{ player_id: number }>(
      `SELECT player_id FROM player_reputation WHERE player_name = ?
       ORDER BY CASE WHEN player_id < ? THEN 0 ELSE 1 END, last_seen DESC LIMIT 1`,
      [playerName, SYNTHETIC_ID_BASE],
    );
    return row ? Number(row.player_id) : undefined;
  }

  /**
   * The player's row, locked until the transaction ends (on PostgreSQL `FOR UPDATE`: at read
   * committed another instance's transaction could otherwise change the score between this read
   * and the guarded update; locked, it waits, and the read sees its commit).
   */
  player(tx: WriteTx, playerId: number): Promise<PlayerRow | undefined> {
    return tx.get<PlayerRow>(`SELECT * FROM player_reputation WHERE player_id = ?${lockingRead(tx, 'update')}`, [playerId]);
  }

  /**
   * A player seen for the first time. No row to lock before it exists: two instances can both
   * read "first sight" — the second insert then changes nothing and the whole unit of work runs
   * again (WriteConflictRetry), this time finding (and locking) the first one's row.
   */
  async insertPlayer(tx: WriteTx, p: NewPlayer): Promise<void> {
    const { changes } = await tx.run(
      `INSERT INTO player_reputation (player_id, player_name, reputation_score, reputation_tier, total_interactions,
         positive_interactions, negative_interactions, first_seen, last_seen, is_friend, is_guild_member, is_whitelisted,
         is_blacklisted, notes, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, FALSE, FALSE, FALSE, FALSE, NULL, ?, ?)
       ON CONFLICT (player_id) DO NOTHING`,
      [p.playerId, p.playerName, p.score, p.tier, p.positive, p.negative, p.at, p.at, p.at, p.at],
    );
    if (changes === 0) throw new WriteConflictRetry(`player ${p.playerId} was inserted by a concurrent transaction`);
  }

  /** Applies one interaction; false when the score is no longer the one it was decided from. */
  async applyToPlayer(tx: WriteTx, c: PlayerChange): Promise<boolean> {
    const res = await tx.run(
      `UPDATE player_reputation SET player_name = ?, reputation_score = ?, reputation_tier = ?,
         total_interactions = total_interactions + 1, positive_interactions = positive_interactions + ?,
         negative_interactions = negative_interactions + ?, last_seen = ?, updated_at = ?
       WHERE player_id = ? AND reputation_score = ?`,
      [c.playerName, c.score, c.tier, c.positive, c.negative, c.at, c.at, c.playerId, c.scoreBefore],
    );
    return res.changes === 1;
  }

  /**
   * The history row; its id. A request_id inserted meanwhile by a concurrent transaction (the
   * same request sent again while the first was in flight, to another instance) changes nothing
   * here: the unit of work runs again and replays the first one's outcome (WriteConflictRetry).
   */
  async insertHistory(tx: WriteTx, h: NewHistory): Promise<number> {
    const inserted = await tx.run(
      `INSERT INTO interaction_history (player_id, player_name, interaction_type, outcome, reputation_delta, applied_delta,
         score_before, score_after, tier_after, source, character_name, session_id, request_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (request_id) DO NOTHING`,
      [
        h.playerId,
        h.playerName,
        h.interactionType,
        h.outcome,
        h.delta,
        h.appliedDelta,
        h.scoreBefore,
        h.scoreAfter,
        h.tierAfter,
        h.source,
        h.characterName,
        h.sessionId,
        h.requestId,
        h.at,
      ],
    );
    if (inserted.changes === 0) throw new WriteConflictRetry(`request_id ${h.requestId} was recorded by a concurrent transaction`);
    return Number(inserted.lastInsertRowid);
  }

  // --- reads ----------------------------------------------------------------------------------

  find(playerId: number): Promise<PlayerRow | undefined> {
    return this.db.get<PlayerRow>('SELECT * FROM player_reputation WHERE player_id = ?', [playerId]);
  }

  async exists(playerId: number): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS x FROM player_reputation WHERE player_id = ?', [playerId])) !== undefined;
  }

  /** Newest first, ids below `beforeId`, at most `limit` rows. */
  history(playerId: number, beforeId: number, limit: number): Promise<HistoryRow[]> {
    return this.db.all<HistoryRow>('SELECT * FROM interaction_history WHERE player_id = ? AND id < ? ORDER BY id DESC LIMIT ?', [playerId, beforeId, limit]);
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { SessionService } from '../session';
import { ReputationRepository } from './reputation.repository';
import type {
  AdjustReputationDto,
  AdjustResultDto,
  HistoryItemDto,
  HistoryPageDto,
  InteractionDto,
  InteractionRulesDto,
  ReputationViewDto,
} from './dto/reputation.dto';
import type { SocialActionDto, SocialChatDto, SocialPartyInviteDto } from './dto/social-compat.dto';
import { syntheticPlayerId } from './player-id';
import { LostUpdateError, PlayerNotFoundError, RequestIdReusedError } from './reputation.errors';
import { applyDelta, deriveTier, INTERACTION_RULES, type ReputationTier, type ScoreChange, TIERS } from './reputation.rules';
import { decideChat, decidePartyInvite, type PlayerStanding } from './social.rules';

/** A player_reputation row as SQLite returns it (booleans are 0/1). */
export interface PlayerRow {
  player_id: number;
  player_name: string;
  reputation_score: number;
  reputation_tier: string;
  total_interactions: number;
  positive_interactions: number;
  negative_interactions: number;
  first_seen: number;
  last_seen: number;
  is_friend: number | boolean;
  is_guild_member: number | boolean;
  is_whitelisted: number | boolean;
  is_blacklisted: number | boolean;
  notes: string | null;
  created_at: number;
  updated_at: number;
}

export interface HistoryRow {
  id: number;
  player_id: number;
  player_name: string;
  interaction_type: string;
  outcome: string;
  reputation_delta: number;
  applied_delta: number;
  score_before: number;
  score_after: number;
  tier_after: string;
  source: string;
  character_name: string | null;
  session_id: string | null;
  request_id: string | null;
  created_at: number;
}

/** One interaction outcome: who, what kind, and for whom it counts. */
export interface OutcomeInput {
  /** The game id; null when only the name is known (then: name lookup, else a synthetic id). */
  playerId: number | null;
  playerName: string;
  interactionType: string;
  source: 'api' | 'compat';
  characterName?: string | null;
  /** Counts into this session's statistics (player_sessions.social_interactions). */
  sessionId?: string | null;
  /** Idempotency key: a repeat returns the first outcome and applies nothing. */
  requestId?: string | null;
}

/** Decides, from the player's row before the change (undefined: first sight), the delta and the reason. */
export type OutcomeDecider<R> = (before: PlayerRow | undefined) => { delta: number; outcome: string; result: R };

export interface OutcomeResult<R> {
  player: PlayerRow;
  change: ScoreChange & { historyId: number; requestedDelta: number; interactionType: string; replayed: boolean };
  /** What the decider returned; undefined for a replay. */
  result: R | undefined;
}

const DEFAULT_HISTORY_LIMIT = 50;
/**
 * On PostgreSQL the unit of work locks the player's row it changes, so read committed is all it
 * needs: transactions of many instances queue on the row lock instead of failing serialization
 * and running again, as they would on one hot player under the serializable default.
 */
const UNIT_OF_WORK_ISOLATION = 'read committed';
const OUTCOME_MAX = 200;

/**
 * Player reputation (docs/architecture.md "Data: reputation") on SQLite shared by every engine process.
 *
 * Every change is one unit of work (docs/architecture.md §4.3) inside ONE `DatabaseService.write` body, so it
 * commits or rolls back whole: session statistics → player_reputation (score, tier, totals) →
 * interaction_history, in the global table order. On SQLite the score's read-modify-write happens
 * inside that BEGIN IMMEDIATE transaction, which holds the write lock from its first statement:
 * no other process can change the row between the read and the write. On PostgreSQL (read
 * committed) the read locks the player's row (`SELECT … FOR UPDATE`), so instances queue on it
 * instead of racing; a first sight inserted concurrently by two instances, or one request_id
 * recorded by two, makes the later transaction run again from the start (docs/cluster.md,
 * "PostgreSQL"). No update is lost from any number of processes or instances. The UPDATE is still
 * guarded by the score it read (`AND reputation_score = ?`): a write path without either
 * guarantee turns a concurrent change into an error instead of a silently lost update.
 *
 * No lock is held across an await here (the body is synchronous and everything it needs is read
 * inside it), so the per-player REPUTATION lock would only add a queue in front of the DATABASE
 * lock; it is not taken.
 */
@Injectable()
export class ReputationService {
  private readonly logger = new Logger(ReputationService.name);

  constructor(
    private readonly db: DatabaseService,
    private readonly sessions: SessionService,
    private readonly repo: ReputationRepository,
  ) {}

  async get(playerId: number): Promise<ReputationViewDto> {
    const row = await this.repo.find(playerId);
    if (!row) throw new PlayerNotFoundError(playerId);
    return toView(row);
  }

  async adjust(dto: AdjustReputationDto): Promise<AdjustResultDto> {
    const out = await this.db.write(
      (tx) =>
        this.recordOutcome(
          tx,
          { playerId: dto.player_id, playerName: dto.player_name, interactionType: 'adjust', source: 'api', requestId: dto.request_id },
          () => ({ delta: dto.delta, outcome: dto.reason, result: undefined }),
        ),
      { label: 'reputation.adjust', isolation: UNIT_OF_WORK_ISOLATION },
    );
    return toAdjustResult(out);
  }

  async interaction(dto: InteractionDto): Promise<AdjustResultDto> {
    const rule = INTERACTION_RULES[dto.event];
    // Throws NOT_FOUND for an unknown or expired session before anything is written.
    if (dto.session_id !== undefined) this.sessions.get(dto.session_id);
    const out = await this.db.write(
      (tx) =>
        this.recordOutcome(
          tx,
          {
            playerId: dto.player_id,
            playerName: dto.player_name,
            interactionType: dto.event,
            source: 'api',
            requestId: dto.request_id,
            sessionId: dto.session_id,
          },
          () => ({ delta: rule.delta, outcome: rule.description, result: undefined }),
        ),
      { label: 'reputation.interaction', isolation: UNIT_OF_WORK_ISOLATION },
    );
    return toAdjustResult(out);
  }

  async history(playerId: number, query: { limit?: number; before_id?: number }): Promise<HistoryPageDto> {
    if (!(await this.repo.exists(playerId))) throw new PlayerNotFoundError(playerId);
    const limit = query.limit ?? DEFAULT_HISTORY_LIMIT;
    const rows = await this.repo.history(playerId, query.before_id ?? Number.MAX_SAFE_INTEGER, limit + 1);
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(toHistoryItem);
    return { player_id: playerId, items, next_before_id: more ? items[items.length - 1].id : null };
  }

  rules(): InteractionRulesDto {
    return {
      rules: Object.entries(INTERACTION_RULES).map(([event, r]) => ({ event, delta: r.delta, description: r.description })),
      tiers: TIERS.map((t) => ({ tier: t.tier, min_score: Number.isFinite(t.min) ? t.min : null })),
    };
  }

  /** Plugin chat: a rule-based reply by the sender's tier; the message is recorded as an interaction. */
  async chat(dto: SocialChatDto): Promise<SocialActionDto> {
    const out = await this.socialOutcome(dto, 'chat_message', 'reputation.chat', (before) => {
      const decision = decideChat(
        {
          characterName: dto.character_name,
          playerName: dto.player_name,
          message: dto.message,
          messageType: dto.message_type,
          myLevel: dto.my_level,
          myJob: dto.my_job,
        },
        standing(before),
      );
      return { delta: INTERACTION_RULES.chat_message.delta, outcome: `${decision.rule}: ${decision.reason}`, result: decision };
    });
    const d = out.result!;
    const params: Record<string, string> = d.action === 'chat_response' ? { target: dto.player_name, message: d.message, message_type: d.channel } : {};
    return socialAction(d.action, params, d.reason, d.rule, out.player);
  }

  /** Plugin party invitation: accept or decline by the inviter's tier and relations; recorded. */
  async partyInvite(dto: SocialPartyInviteDto): Promise<SocialActionDto> {
    const out = await this.socialOutcome(dto, 'party_invite', 'reputation.party_invite', (before) => {
      const decision = decidePartyInvite(dto.player_name, standing(before));
      return { delta: INTERACTION_RULES.party_invite.delta, outcome: `${decision.action}: ${decision.reason}`, result: decision };
    });
    const d = out.result!;
    return socialAction(d.action, {}, d.reason, d.rule, out.player);
  }

  /** The plugin's social routes: the character's session, then one unit of work decided by `decide`. */
  private async socialOutcome<R>(
    dto: { character_name: string; player_id?: number | null; player_name: string },
    interactionType: 'chat_message' | 'party_invite',
    label: string,
    decide: OutcomeDecider<R>,
  ): Promise<OutcomeResult<R>> {
    const sessionId = await this.sessions.touchCharacter(dto.character_name);
    return this.db.write(
      (tx) =>
        this.recordOutcome(
          tx,
          {
            playerId: dto.player_id ?? null,
            playerName: dto.player_name,
            interactionType,
            source: 'compat',
            characterName: dto.character_name,
            sessionId,
          },
          decide,
        ),
      { label, isolation: UNIT_OF_WORK_ISOLATION },
    );
  }

  /**
   * The unit of work of one interaction outcome, for a `DatabaseService.write` body (one
   * transaction). Steps, in TABLE_WRITE_ORDER: (1) the session's statistics, (2) the
   * player's score, tier and totals, (3) the history row. Any throw — here or in the caller's
   * body after it — rolls all of them back.
   */
  async recordOutcome<R>(tx: WriteTx, input: OutcomeInput, decide: OutcomeDecider<R>): Promise<OutcomeResult<R>> {
    const now = Date.now();
    if (input.requestId) {
      const prior = await this.repo.historyByRequestId(tx, input.requestId);
      if (prior) return this.replay(tx, input, decide, prior);
    }

    // (1) Session statistics.
    if (input.sessionId) {
      // A character's session is written in the background: make sure its row is there to count into.
      await this.sessions.ensureRow(tx, input.sessionId);
      await this.repo.countSessionInteraction(tx, input.sessionId);
    }

    // (2) Score, tier and totals: read and write under the transaction's write lock.
    // A name never seen gets its deterministic synthetic id (player-id.ts).
    const playerId = input.playerId ?? (await this.repo.playerIdByName(tx, input.playerName)) ?? syntheticPlayerId(input.playerName);
    const before = await this.repo.player(tx, playerId);
    const { delta, outcome, result } = decide(before);
    const change = applyDelta(before?.reputation_score ?? 0, delta);
    const positive = delta > 0 ? 1 : 0;
    const negative = delta < 0 ? 1 : 0;
    if (!before) {
      await this.repo.insertPlayer(tx, { playerId, playerName: input.playerName, score: change.scoreAfter, tier: change.tierAfter, positive, negative, at: now });
    } else {
      const applied = await this.repo.applyToPlayer(tx, {
        playerId,
        playerName: input.playerName,
        scoreBefore: before.reputation_score,
        score: change.scoreAfter,
        tier: change.tierAfter,
        positive,
        negative,
        at: now,
      });
      if (!applied) throw new LostUpdateError(`Score of player ${playerId} changed during its own transaction`, { player_id: playerId });
    }

    // (3) History.
    const historyId = await this.repo.insertHistory(tx, {
      playerId,
      playerName: input.playerName,
      interactionType: input.interactionType,
      outcome: outcome.slice(0, OUTCOME_MAX),
      delta,
      appliedDelta: change.appliedDelta,
      scoreBefore: change.scoreBefore,
      scoreAfter: change.scoreAfter,
      tierAfter: change.tierAfter,
      source: input.source,
      characterName: input.characterName ?? null,
      sessionId: input.sessionId ?? null,
      requestId: input.requestId ?? null,
      at: now,
    });
    const player = (await this.repo.player(tx, playerId))!;
    return {
      player,
      change: { ...change, historyId, requestedDelta: delta, interactionType: input.interactionType, replayed: false },
      result,
    };
  }

  private async replay<R>(tx: WriteTx, input: OutcomeInput, decide: OutcomeDecider<R>, prior: HistoryRow): Promise<OutcomeResult<R>> {
    const player = (await this.repo.player(tx, Number(prior.player_id)))!;
    const { delta } = decide(player);
    const samePlayer = input.playerId === null || input.playerId === Number(prior.player_id);
    if (!samePlayer || prior.interaction_type !== input.interactionType || prior.reputation_delta !== delta) {
      throw new RequestIdReusedError(input.requestId!, {
        player_id: Number(prior.player_id),
        interaction_type: prior.interaction_type,
        reputation_delta: prior.reputation_delta,
      });
    }
    this.logger.debug({ request_id: input.requestId, history_id: prior.id }, 'replayed an already applied request');
    const scoreBefore = prior.score_before;
    return {
      player,
      change: {
        scoreBefore,
        scoreAfter: prior.score_after,
        appliedDelta: prior.applied_delta,
        tierBefore: deriveTier(scoreBefore),
        tierAfter: prior.tier_after as ReputationTier,
        // BIGINT: a string from PostgreSQL.
        historyId: Number(prior.id),
        requestedDelta: prior.reputation_delta,
        interactionType: prior.interaction_type,
        replayed: true,
      },
      result: undefined,
    };
  }
}

function standing(row: PlayerRow | undefined): PlayerStanding {
  return {
    tier: deriveTier(row?.reputation_score ?? 0),
    isFriend: !!row?.is_friend,
    isGuildMember: !!row?.is_guild_member,
    isWhitelisted: !!row?.is_whitelisted,
    isBlacklisted: !!row?.is_blacklisted,
  };
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();

export function toView(row: PlayerRow): ReputationViewDto {
  return {
    player_id: Number(row.player_id),
    player_name: row.player_name,
    reputation_score: row.reputation_score,
    reputation_tier: row.reputation_tier,
    total_interactions: Number(row.total_interactions),
    positive_interactions: Number(row.positive_interactions),
    negative_interactions: Number(row.negative_interactions),
    first_seen: iso(row.first_seen),
    last_seen: iso(row.last_seen),
    is_friend: !!row.is_friend,
    is_guild_member: !!row.is_guild_member,
    is_whitelisted: !!row.is_whitelisted,
    is_blacklisted: !!row.is_blacklisted,
    notes: row.notes,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toHistoryItem(row: HistoryRow): HistoryItemDto {
  return {
    id: Number(row.id),
    player_id: Number(row.player_id),
    player_name: row.player_name,
    interaction_type: row.interaction_type,
    outcome: row.outcome,
    reputation_delta: row.reputation_delta,
    applied_delta: row.applied_delta,
    score_before: row.score_before,
    score_after: row.score_after,
    tier_after: row.tier_after,
    source: row.source,
    character_name: row.character_name,
    session_id: row.session_id,
    request_id: row.request_id,
    created_at: iso(row.created_at),
  };
}

function toAdjustResult(out: OutcomeResult<unknown>): AdjustResultDto {
  const c = out.change;
  return {
    reputation: toView(out.player),
    change: {
      history_id: c.historyId,
      interaction_type: c.interactionType,
      requested_delta: c.requestedDelta,
      applied_delta: c.appliedDelta,
      score_before: c.scoreBefore,
      score_after: c.scoreAfter,
      tier_before: c.tierBefore,
      tier_after: c.tierAfter,
      replayed: c.replayed,
    },
  };
}

function socialAction(action: string, params: Record<string, string>, reason: string, rule: string, player: PlayerRow): SocialActionDto {
  return {
    action,
    type: action,
    params,
    parameters: params,
    reason,
    rule,
    player_id: Number(player.player_id),
    reputation_tier: player.reputation_tier,
    reputation_score: player.reputation_score,
  };
}


import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../../common/database/database.service';
import type { ActDecision, CheckOutcome, CycleStatus, Deployment, PdcaPhase, PhaseEntry, Strategy, TriggerType } from './pdca.types';

/** A `pdca_cycles` row, JSON columns parsed. */
export interface CycleRecord {
  id: number;
  status: CycleStatus;
  trigger_type: TriggerType;
  trigger_reason: string;
  current_phase: PdcaPhase;
  phases: PhaseEntry[];
  strategy_id: string | null;
  planner: string | null;
  strategy: Strategy | null;
  deployment: Deployment | null;
  outcome: (CheckOutcome & { act?: { detail: string; adjustments?: string[] } }) | null;
  decision: ActDecision | null;
  error: string | null;
  owner: string;
  lease_token: number;
  stop_requested_at: number | null;
  started_at: number;
  finished_at: number | null;
  updated_at: number;
}

interface CycleRow {
  id: number;
  status: CycleStatus;
  trigger_type: TriggerType;
  trigger_reason: string;
  current_phase: PdcaPhase;
  phases: string;
  strategy_id: string | null;
  planner: string | null;
  strategy: string | null;
  deployment: string | null;
  outcome: string | null;
  decision: ActDecision | null;
  error: string | null;
  owner: string;
  lease_token: number | string;
  stop_requested_at: number | string | null;
  started_at: number | string;
  finished_at: number | string | null;
  updated_at: number | string;
}

export interface CycleUpdate {
  phases: PhaseEntry[];
  strategy?: Strategy;
  deployment?: Deployment;
  outcome?: CycleRecord['outcome'];
  decision?: ActDecision;
}

/** Most rows kept: the oldest finished cycles beyond it are deleted when a cycle begins. */
export const PDCA_HISTORY_KEEP = 5_000;
const MAX_ERROR_LENGTH = 2_000;

/**
 * `pdca_cycles` in SQL. Every write goes through DatabaseService.write (DATABASE lock + BEGIN
 * IMMEDIATE), and every update of a cycle is conditional on `status = 'running'`: once a row is
 * finished — by its own cycle or by a reaper that found its lease dead — nothing changes it again.
 */
@Injectable()
export class PdcaCycleStore {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Records a new running cycle. The caller holds the live `pdca_running` lease, so no other
   * cycle can be alive: rows still `running` belong to dead holders and are failed here, in the
   * same transaction.
   */
  async begin(input: { trigger_type: TriggerType; trigger_reason: string; owner: string; lease_token: number; at: number }): Promise<number> {
    const { at } = input;
    const phases: PhaseEntry[] = [{ phase: 'IDLE', at }];
    return this.db.write(
      async (tx) => {
        await tx.run(
          `UPDATE pdca_cycles SET status = 'failed', current_phase = 'IDLE', finished_at = ?, updated_at = ?,
             error = COALESCE(error, ?) WHERE status = 'running'`,
          [at, at, ABANDONED],
        );
        const { lastInsertRowid } = await tx.run(
          `INSERT INTO pdca_cycles (status, trigger_type, trigger_reason, current_phase, phases, owner, lease_token, started_at, updated_at)
           VALUES ('running', ?, ?, 'IDLE', ?, ?, ?, ?, ?)`,
          [input.trigger_type, input.trigger_reason, JSON.stringify(phases), input.owner, input.lease_token, at, at],
        );
        const id = Number(lastInsertRowid);
        await tx.run(`DELETE FROM pdca_cycles WHERE status <> 'running' AND id <= ?`, [id - PDCA_HISTORY_KEEP]);
        return id;
      },
      { label: 'pdca.begin' },
    );
  }

  /** Persists a phase transition (and what the phase produced); false if the row is no longer running. */
  async update(id: number, phase: PdcaPhase, change: CycleUpdate, at: number): Promise<boolean> {
    const sets = ['current_phase = ?', 'phases = ?', 'updated_at = ?'];
    const params: unknown[] = [phase, JSON.stringify(change.phases), at];
    if (change.strategy) {
      sets.push('strategy = ?', 'strategy_id = ?', 'planner = ?');
      params.push(JSON.stringify(change.strategy), change.strategy.id, change.strategy.planner.slice(0, 64));
    }
    if (change.deployment) {
      sets.push('deployment = ?');
      params.push(JSON.stringify(change.deployment));
    }
    if (change.outcome) {
      sets.push('outcome = ?');
      params.push(JSON.stringify(change.outcome));
    }
    if (change.decision) {
      sets.push('decision = ?');
      params.push(change.decision);
    }
    params.push(id);
    const changes = await this.db.write(async (tx) => (await tx.run(`UPDATE pdca_cycles SET ${sets.join(', ')} WHERE id = ? AND status = 'running'`, params)).changes, {
      label: 'pdca.update',
    });
    return changes === 1;
  }

  /** Ends a cycle (IDLE); false if it had already been ended (e.g. failed by a reaper). */
  async finish(id: number, status: Exclude<CycleStatus, 'running'>, phases: PhaseEntry[], error: string | null, at: number): Promise<boolean> {
    const changes = await this.db.write(
      async (tx) =>
        (
          await tx.run(
            `UPDATE pdca_cycles SET status = ?, current_phase = 'IDLE', phases = ?, error = ?, finished_at = ?, updated_at = ?
             WHERE id = ? AND status = 'running'`,
            [status, JSON.stringify(phases), error === null ? null : error.slice(0, MAX_ERROR_LENGTH), at, at, id],
          )
        ).changes,
      { label: 'pdca.finish' },
    );
    return changes === 1;
  }

  /** Fails the given running rows (their leases are dead). Returns the ids it changed. */
  async failAbandoned(ids: readonly number[], at: number): Promise<number[]> {
    if (ids.length === 0) return [];
    return this.db.write(
      async (tx) => {
        const failed: number[] = [];
        for (const id of ids) {
          const { changes } = await tx.run(
            `UPDATE pdca_cycles SET status = 'failed', current_phase = 'IDLE', finished_at = ?, updated_at = ?, error = COALESCE(error, ?)
             WHERE id = ? AND status = 'running'`,
            [at, at, ABANDONED, id],
          );
          if (changes === 1) failed.push(id);
        }
        return failed;
      },
      { label: 'pdca.reap' },
    );
  }

  /** Asks the process running cycle `id` to stop it (it polls for this); false if it is not running. */
  async requestStop(id: number, at: number): Promise<boolean> {
    const changes = await this.db.write(
      async (tx) => (await tx.run(`UPDATE pdca_cycles SET stop_requested_at = COALESCE(stop_requested_at, ?), updated_at = ? WHERE id = ? AND status = 'running'`, [at, at, id])).changes,
      { label: 'pdca.stop' },
    );
    return changes === 1;
  }

  async stopRequested(id: number): Promise<boolean> {
    const row = await this.db.get<{ stop_requested_at: number | null }>('SELECT stop_requested_at FROM pdca_cycles WHERE id = ?', [id]);
    return row !== undefined && row.stop_requested_at !== null;
  }

  async get(id: number): Promise<CycleRecord | undefined> {
    const row = await this.db.get<CycleRow>('SELECT * FROM pdca_cycles WHERE id = ?', [id]);
    return row ? toRecord(row) : undefined;
  }

  /** Rows still marked running (normally zero or one), newest first. */
  async running(): Promise<CycleRecord[]> {
    return (await this.db.all<CycleRow>(`SELECT * FROM pdca_cycles WHERE status = 'running' ORDER BY id DESC`)).map(toRecord);
  }

  async latestFinished(): Promise<CycleRecord | undefined> {
    const row = await this.db.get<CycleRow>(`SELECT * FROM pdca_cycles WHERE status <> 'running' ORDER BY id DESC LIMIT 1`);
    return row ? toRecord(row) : undefined;
  }

  async countFinished(): Promise<number> {
    return Number((await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM pdca_cycles WHERE status <> 'running'`))!.n);
  }

  /** Newest first; `before` is the cursor (an id) of the next page. */
  async list(options: { limit: number; before?: number; status?: CycleStatus }): Promise<CycleRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.before !== undefined) {
      where.push('id < ?');
      params.push(options.before);
    }
    if (options.status !== undefined) {
      where.push('status = ?');
      params.push(options.status);
    }
    params.push(options.limit);
    const sql = `SELECT * FROM pdca_cycles ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (await this.db.all<CycleRow>(sql, params)).map(toRecord);
  }
}

export const ABANDONED = 'abandoned: the process running it stopped renewing its pdca_running lease (crashed or killed)';

function json<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toRecord(row: CycleRow): CycleRecord {
  return {
    id: Number(row.id),
    status: row.status,
    trigger_type: row.trigger_type,
    trigger_reason: row.trigger_reason,
    current_phase: row.current_phase,
    phases: json<PhaseEntry[]>(row.phases) ?? [],
    strategy_id: row.strategy_id,
    planner: row.planner,
    strategy: json<Strategy>(row.strategy),
    deployment: json<Deployment>(row.deployment),
    outcome: json<CycleRecord['outcome']>(row.outcome),
    decision: row.decision,
    error: row.error,
    owner: row.owner,
    lease_token: Number(row.lease_token),
    stop_requested_at: num(row.stop_requested_at),
    started_at: Number(row.started_at),
    finished_at: num(row.finished_at),
    updated_at: Number(row.updated_at),
  };
}

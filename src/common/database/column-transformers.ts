import type { ValueTransformer } from 'typeorm';

/** Epoch-millisecond columns are BIGINT (portable to PostgreSQL, which returns them as strings). */
export const epochMs: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};

/** JSON stored as TEXT (SQLite has no JSON column type; PostgreSQL would take jsonb). */
export const jsonText: ValueTransformer = {
  to: (value: unknown) => (value === undefined ? null : JSON.stringify(value)),
  from: (value: string | null) => (value === null ? null : (JSON.parse(value) as unknown)),
};

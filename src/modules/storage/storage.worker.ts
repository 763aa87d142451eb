/**
 * Worker-thread entry of the storage module's long jobs (sizes of a large database, a full
 * VACUUM): their own connection, off the engine's event loop. One job per worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readDatabaseSizes, vacuumDatabase } from './storage-stats';

export type StorageJob = { kind: 'storage-sizes'; file: string } | { kind: 'storage-vacuum'; file: string; busyTimeoutMs: number };

export type StorageJobResult = { ok: true; value: unknown } | { ok: false; message: string; code?: string };

export function runStorageJob(job: StorageJob): StorageJobResult {
  try {
    const value = job.kind === 'storage-sizes' ? readDatabaseSizes(job.file) : vacuumDatabase(job.file, job.busyTimeoutMs);
    return { ok: true, value };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : undefined };
  }
}

const job = workerData as StorageJob | undefined;
if (parentPort && (job?.kind === 'storage-sizes' || job?.kind === 'storage-vacuum')) parentPort.postMessage(runStorageJob(job));

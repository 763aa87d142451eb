/** Messages between the WalCheckpointer and its worker (kept apart from the worker's entry file). */
export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

export type CheckpointMessage =
  | { type: 'ready' }
  | { type: 'checkpoint'; walFrames: number; checkpointed: number; busy: boolean }
  | { type: 'error'; message: string };

export const STOP = 'stop';

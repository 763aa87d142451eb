/** Messages between the WalCheckpointer and its worker (kept apart from the worker's entry file). */
export interface CheckpointWorkerData {
  file: string;
}

/**
 * Worker to engine. Every TICK is answered by exactly one `checkpoint` or `error` (the periodic
 * job's run ends with it); `progressed` is false when the tick copied nothing new.
 */
export type CheckpointMessage =
  | { type: 'ready' }
  | { type: 'checkpoint'; walFrames: number; checkpointed: number; busy: boolean; progressed: boolean }
  | { type: 'error'; message: string };

/** Engine to worker: run one PASSIVE checkpoint now. */
export const TICK = 'tick';
export const STOP = 'stop';

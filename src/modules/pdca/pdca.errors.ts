import { BusyError } from '../../common/errors/app.error';

/** A cycle is already running (in this process or, through the `pdca_running` flag, in another one): 409 BUSY. */
export class PdcaBusyError extends BusyError {}

/** Why a running cycle was interrupted; it ends `stopped` (stop, shutdown) or `failed` (lease lost). */
export class CycleInterrupted extends Error {
  constructor(
    readonly kind: 'stop' | 'shutdown' | 'lease_lost',
    message: string,
  ) {
    super(message);
    this.name = 'CycleInterrupted';
  }
}

/**
 * The signals that ask a foreground command (`berth up`) to stop what it started, and the
 * exit code it then ends with.
 */
import { constants } from "node:os";

export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** 128 + the signal's number, as a shell reports a command ended by it: SIGHUP 129, SIGINT 130, SIGTERM 143. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + constants.signals[sig];
}

export interface StopSignals {
  /** Aborts at the first stop signal, with an Error naming it as the reason. */
  readonly signal: AbortSignal;
  /** The first stop signal received, if any. */
  received(): StopSignal | undefined;
  /** Removes the handlers; Node's defaults apply again. Idempotent. */
  dispose(): void;
}

export interface StopSignalsOptions {
  /** Told of the first signal (to say what happens now). */
  onFirst(sig: StopSignal): void;
  /** A second SIGINT or SIGTERM: give up stopping gracefully. Default: exit at once with `signalExitCode(sig)`. */
  onForce?(sig: StopSignal): void;
  /** Where the signals arrive. Default: process (tests pass an EventEmitter). */
  source?: Pick<NodeJS.Process, "on" | "off">;
}

/**
 * Handles SIGINT, SIGTERM and SIGHUP once: the first aborts `signal`; a second SIGINT or
 * SIGTERM (Ctrl-C again, `kill` again) forces. A SIGHUP after the first signal is ignored:
 * it means the terminal went away while stopping, not that stopping should be cut short.
 * While installed, none of the three ends the process by Node's default action.
 */
export function handleStopSignals(o: StopSignalsOptions): StopSignals {
  const source = o.source ?? process;
  const force = o.onForce ?? ((sig: StopSignal) => process.exit(signalExitCode(sig)));
  const controller = new AbortController();
  let first: StopSignal | undefined;
  const listeners = STOP_SIGNALS.map((sig) => {
    const listener = () => {
      if (first === undefined) {
        first = sig;
        controller.abort(new Error(`interrupted by ${sig}`));
        o.onFirst(sig);
      } else if (sig !== "SIGHUP") force(sig);
    };
    source.on(sig, listener);
    return [sig, listener] as const;
  });
  let disposed = false;
  return {
    signal: controller.signal,
    received: () => first,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const [sig, listener] of listeners) source.off(sig, listener);
    },
  };
}

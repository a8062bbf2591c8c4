/**
 * Output to a process stream that outlives its reader. `berth up | tee up.log` then Ctrl-C:
 * tee exits first, and the next write to stdout fails with EPIPE (EIO when the terminal
 * closed) — emitted as an 'error' event that, without a listener, ends the process before
 * it has stopped what it started.
 */
import type { Output } from "./client.js";

export interface SafeOutput extends Output {
  /** True once the stream failed: every later write is dropped. */
  readonly gone: boolean;
}

interface WriteStream {
  write(text: string): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Wraps `stream` (process.stdout, process.stderr). Contract: installs one 'error' listener
 * that stays for the life of the process (so later writes by anyone, e.g. main's error
 * report, cannot crash it either); the first error of any kind marks the output gone, and
 * from then on `write` does nothing. `write` never throws.
 */
export function safeOutput(stream: WriteStream): SafeOutput {
  let gone = false;
  stream.on("error", () => {
    gone = true;
  });
  return {
    get gone() {
      return gone;
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    write(text: string) {
      if (gone) return false;
      try {
        return stream.write(text);
      } catch {
        gone = true; // a stream destroyed under us throws instead of emitting
        return false;
      }
    },
  };
}

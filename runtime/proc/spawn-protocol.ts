/** The messages between exec-file.ts (in the daemon) and its spawn helper process (spawn-helper.ts). */

export interface SpawnRequest {
  id: number;
  file: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  maxBuffer: number;
  killSignal: string;
  /** Written to the program's stdin, then closed; without it stdin is /dev/null. */
  input?: Uint8Array;
}

export interface SpawnReply {
  id: number;
  /** The exit code; null when killed by a signal or never started. */
  code: number | null;
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Killed for the timeout or for output beyond maxBuffer. */
  killed: boolean;
  maxBufferExceeded: boolean;
  /** The program could not be started (ENOENT, EACCES...). */
  spawnError?: { code?: string; message: string };
}

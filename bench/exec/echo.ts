/**
 * `exec -it` echo round trip: pty-echo.py runs the client (`berth exec -it box -- cat`,
 * `docker exec -it ID cat`) on a pseudo-terminal, types a byte at a time and times each
 * until it is echoed: client → daemon → the container's terminal and back.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { which } from "../../test/helpers/host.js";
import { mustRun } from "../proc.js";
import { summarize, type Summary } from "../stats.js";

/** The helper's source (tsc copies no .py into dist: resolved from the repo's bench/exec). */
const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../bench/exec/pty-echo.py");

export function echoMissing(): string | undefined {
  return which("python3") ? undefined : "needs python3 (its pty module opens the terminal)";
}

export async function echoLatency(argv: string[], env: NodeJS.ProcessEnv, rounds: number, timeoutMs: number): Promise<Summary> {
  const r = await mustRun(which("python3")!, [HELPER, String(rounds), String(timeoutMs / 1000), ...argv], timeoutMs + 15_000, { env });
  const v = JSON.parse(r.stdout.trim().split("\n").pop()!) as { samplesMs: number[]; exited: boolean };
  if (!v.exited) throw new Error(`${argv.slice(0, 3).join(" ")}: did not end after EOF`);
  return summarize(v.samplesMs);
}

import { execFile } from "../proc/exec-file.js";
import { internal } from "../../lib/errors.js";

/**
 * Runs a program with an argv array (never a shell) and resolves with its stdout. A non-zero
 * exit becomes an Internal error "run <cmd>: <stderr>" whose `cause` is the exec error.
 */
export function runCommand(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: "C" } },
      (err, stdout, stderr) => {
        if (err) {
          const detail = String(stderr).trim() || err.message;
          reject(internal(`run ${cmd}: ${detail}`, { cause: err }));
        } else resolve(String(stdout));
      },
    );
  });
}

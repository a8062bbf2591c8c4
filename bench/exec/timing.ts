/**
 * A whole process, timed from the outside: from just before spawn to its close (stdio
 * ignored, but stderr kept for what a row parses from it). Argv arrays only; bounded.
 */
import { spawn } from "node:child_process";
import { now } from "../stats.js";

export interface Timed {
  ms: number;
  code: number;
  stderr: string;
}

export function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => (clearTimeout(timer), reject(err)));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ ms: now() - t0, code: code ?? -1, stderr });
    });
  });
}

/** A row of the side-by-side table: what it runs and the exit code it must end with. */
export interface Row {
  name: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Default 0. */
  expectCode?: number | "nonzero";
  /** Called with each timed run's stderr (the CLI's timing marks). */
  onStderr?: (stderr: string) => void;
}

async function once(r: Row, timeoutMs: number): Promise<Timed> {
  const t = await timeProcess(r.cmd, r.args, r.env, timeoutMs);
  const want = r.expectCode ?? 0;
  const ok = want === "nonzero" ? t.code !== 0 : t.code === want;
  if (!ok) throw new Error(`${r.name}: exited ${t.code}, expected ${want}: ${t.stderr.trim().slice(-600)}`);
  return t;
}

/**
 * Every row `warm` times untimed, then `runs` rounds in which each row runs once — in an
 * order that rotates every round, so a burst of load on the host falls on all of them.
 */
export async function timeRows(rows: Row[], runs: number, warm: number, timeoutMs: number): Promise<Map<string, number[]>> {
  const out = new Map(rows.map((r) => [r.name, [] as number[]]));
  for (let i = 0; i < warm; i++) for (const r of rows) await once(r, timeoutMs);
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < rows.length; j++) {
      const r = rows[(i + j) % rows.length]!;
      const t = await once(r, timeoutMs);
      out.get(r.name)!.push(t.ms);
      r.onStderr?.(t.stderr);
    }
  }
  return out;
}

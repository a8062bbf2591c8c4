/**
 * What `berth stats` costs the daemon: its CPU time (utime + stime of /proc/<pid>/stat)
 * over a window while the CLI streams every running container, less the same window idle,
 * per container per second. The CLI process's own CPU over the window is reported beside.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { runProcess } from "../../test/helpers/dockerd.js";
import { round, sleep } from "../stats.js";

export interface StatsCost {
  containers: number;
  windowS: number;
  daemonIdleCpuMsPerS: number | null;
  daemonStatsCpuMsPerS: number | null;
  /** (under stats − idle) / containers: ms of CPU per container per second (÷10 = % of one core). */
  daemonCpuMsPerContainerS: number | null;
  cliCpuMsPerS: number | null;
}

let ticksPerSecond: number | undefined;
async function clockTicks(): Promise<number> {
  if (ticksPerSecond === undefined) ticksPerSecond = Number((await runProcess("getconf", ["CLK_TCK"], { timeoutMs: 5000 })).stdout.trim()) || 100;
  return ticksPerSecond;
}

/** utime + stime of `pid`, ms; NaN when it is gone. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const close = stat.lastIndexOf(")");
  if (close < 0) return NaN;
  const f = stat.slice(close + 2).split(" ");
  // fields 14 and 15 of stat(5), counted from the state field (3) after the comm
  return ((Number(f[11]) + Number(f[12])) * 1000) / (await clockTicks());
}

async function rateOver(pid: number, seconds: number): Promise<number> {
  const a = await cpuMs(pid);
  await sleep(seconds * 1000);
  return (await cpuMs(pid)) - a;
}

export async function statsCost(daemonPid: number, cli: { cmd: string; args: string[]; env: NodeJS.ProcessEnv }, containers: number, seconds: number): Promise<StatsCost> {
  const idle = (await rateOver(daemonPid, seconds)) / seconds;
  const child = spawn(cli.cmd, cli.args, { stdio: ["ignore", "ignore", "pipe"], env: cli.env });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  let exited = false;
  child.on("close", () => (exited = true));
  try {
    await sleep(2000); // its start and first sample are not the steady cost
    if (exited) throw new Error(`berth stats exited early: ${stderr.trim().slice(-400)}`);
    const cliA = await cpuMs(child.pid!);
    const busy = (await rateOver(daemonPid, seconds)) / seconds;
    const cliB = await cpuMs(child.pid!);
    if (exited) throw new Error(`berth stats exited during the window: ${stderr.trim().slice(-400)}`);
    return {
      containers,
      windowS: seconds,
      daemonIdleCpuMsPerS: round(idle, 2),
      daemonStatsCpuMsPerS: round(busy, 2),
      daemonCpuMsPerContainerS: round((busy - idle) / containers, 3),
      cliCpuMsPerS: round((cliB - cliA) / seconds, 2),
    };
  } finally {
    child.kill("SIGKILL");
  }
}

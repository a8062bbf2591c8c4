/**
 * Start latency and memory: a round creates and starts N containers of one contender
 * sequentially (timed), measures per-container memory at N = memoryAt, and removes them
 * (timed separately; also in `finally` when the round fails).
 */
import { promises as fs } from "node:fs";
import { pssKiB, statusKiB } from "../proc.js";
import { mean, now, sleep } from "../stats.js";
import type { Contender, ContenderResult, MemoryResult, RoundResult } from "./types.js";

async function measureMemory(c: Contender, handles: string[]): Promise<MemoryResult> {
  await sleep(500); // let monitors settle after start-up
  const pids = await c.pids(handles);
  const cr: number[] = [];
  const cp: number[] = [];
  const mr: number[] = [];
  const mp: number[] = [];
  let monitor: string | undefined;
  for (const p of pids) {
    cr.push(await statusKiB(p.container, "VmRSS"));
    cp.push(await pssKiB(p.container));
    if (p.monitor) {
      monitor ??= (await fs.readFile(`/proc/${p.monitor}/comm`, "utf8").catch(() => "?")).trim();
      mr.push(await statusKiB(p.monitor, "VmRSS"));
      mp.push(await pssKiB(p.monitor));
    }
  }
  const m = (xs: number[]) => (xs.length ? mean(xs) : null);
  return {
    n: handles.length,
    ...(monitor ? { monitor } : {}),
    containerRssKiB: mean(cr),
    monitorRssKiB: m(mr),
    totalRssKiB: mean(cr) + (m(mr) ?? 0),
    containerPssKiB: mean(cp),
    monitorPssKiB: m(mp),
    totalPssKiB: mean(cp) + (m(mp) ?? 0),
  };
}

export async function runRound(c: Contender, prefix: string, n: number, memoryAt: number, res: ContenderResult): Promise<RoundResult> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await c.prepare?.(names);
  const handles: string[] = [];
  let removeMs = 0;
  try {
    const t0 = now();
    for (const name of names) handles.push(await c.startOne(name));
    const totalMs = now() - t0;
    if (n === memoryAt && !res.memory) res.memory = await measureMemory(c, handles);
    const r0 = now();
    await c.removeAll(handles.splice(0));
    removeMs = now() - r0;
    return { n, totalMs, perContainerMs: totalMs / n, removeMsPerContainer: removeMs / n };
  } finally {
    if (handles.length) await c.removeAll(handles).catch(() => {});
  }
}

/**
 * Scenario 3: a no-op re-apply of the running stack (nothing changes): through the API
 * (a round trip), through the berth CLI (a process per apply, like docker-compose), and
 * `docker-compose up -d`; with the floors of each CLI (`berth validate`, `compose config`).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { mustRun } from "../proc.js";
import { now, ratio, summarize, type Summary } from "../stats.js";
import { applyOrThrow, failed, mustCompose, stackStatus, type Ctx } from "./helpers.js";
import type { RunningStacks } from "./stack.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export async function benchNoop(ctx: Ctx, running: RunningStacks) {
  const noop: Record<string, unknown> = {};
  if (running.berth) Object.assign(noop, await berthNoop(ctx, running.berth));
  else noop.berthApi = { notMeasured: running.berthErr ?? "no stack" };
  if (running.compose) Object.assign(noop, await composeNoop(ctx, running.compose));
  else noop.compose = { notMeasured: running.composeErr ?? "no stack" };
  const api = noop.berthApi as Summary | undefined;
  const cli = noop.berthCli as Summary | undefined;
  const comp = noop.compose as Summary | undefined;
  return { ...noop, ratioApi: ratio(api?.medianMs, comp?.medianMs), ratioCli: ratio(cli?.medianMs, comp?.medianMs) };
}

async function berthNoop(ctx: Ctx, k: NonNullable<RunningStacks["berth"]>) {
  const { o, berth: b } = ctx;
  const out: Record<string, unknown> = {};
  const before = await stackStatus(b.client, k.stack);
  const api: number[] = [];
  let allUnchanged = true;
  for (let i = 0; i < o.noopApiReps; i++) {
    const t0 = now();
    const r = await applyOrThrow(b.client, k.stack, k.text);
    api.push(now() - t0);
    allUnchanged &&= r.changes.every((c) => c.action === "unchanged");
  }
  const after = await stackStatus(b.client, k.stack);
  const samePids = before.every((x) => after.find((y) => y.name === x.name)?.s.pid === x.s.pid);
  out.berthApi = { ...summarize(api), allUnchanged, samePids };
  // The CLI, a process per apply like docker-compose (its startup is part of it).
  try {
    const main = path.join(REPO, "dist/cli/main.js");
    const file = path.join(ctx.base, `${k.stack}.yaml`);
    await fs.writeFile(file, k.text);
    const cli: number[] = [];
    let text = "";
    for (let i = 0; i < o.noopCliReps; i++) {
      const t0 = now();
      const r = await mustRun(process.execPath, [main, "--socket", b.client.socketPath, "apply", "-f", file, "--stack", k.stack], o.stepTimeoutMs);
      cli.push(now() - t0);
      text = r.stdout;
    }
    const floor: number[] = [];
    for (let i = 0; i < o.noopCliReps; i++) {
      const t0 = now();
      await mustRun(process.execPath, [main, "validate", "-f", file], o.stepTimeoutMs);
      floor.push(now() - t0);
    }
    out.berthCli = { ...summarize(cli), allUnchanged: !/created|configured|deleted/.test(text) && /unchanged/.test(text) };
    out.berthCliValidateFloor = summarize(floor);
  } catch (err) {
    out.berthCli = failed(err);
  }
  return out;
}

async function composeNoop(ctx: Ctx, k: NonNullable<RunningStacks["compose"]>) {
  const { o } = ctx;
  const dk = ctx.docker!;
  const ids = async () => (await dk.list(k.project)).map((c) => c.Id).sort().join(",");
  const before = await ids();
  const xs: number[] = [];
  for (let i = 0; i < o.noopComposeReps; i++) {
    const t0 = now();
    await mustCompose(dk, k.project, k.file, ["up", "-d"]);
    xs.push(now() - t0);
  }
  const floor: number[] = [];
  for (let i = 0; i < Math.min(5, o.noopComposeReps); i++) {
    const t0 = now();
    await mustCompose(dk, k.project, k.file, ["config", "-q"]);
    floor.push(now() - t0);
  }
  return { compose: { ...summarize(xs), sameContainers: (await ids()) === before }, composeConfigFloor: summarize(floor) };
}

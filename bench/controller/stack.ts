/**
 * Scenario 1: apply of a `stackSize`-container stack (independent `sleep 3600`) until all
 * are Running, vs `docker-compose up -d` of the equivalent compose file until all are
 * running; `stackReps` repetitions, alternating who goes first. The last repetition's
 * stacks are left running for `whileRunning` (scenario 3, the no-op re-apply), then removed.
 */
import { median, now, range, ratio, round, summarize } from "../stats.js";
import { errText } from "../proc.js";
import {
  alternate,
  applyOrThrow,
  berthRemove,
  composeDown,
  composeMissing,
  composeSleepers,
  composeUpPolling,
  cs,
  ctrDoc,
  firstAt,
  mustCompose,
  sleeperSpec,
  untilStack,
  writeCompose,
  type Ctx,
} from "./helpers.js";
import { until } from "../../test/helpers/daemon.js";

/** The stacks of the last repetition, still running. */
export interface RunningStacks {
  berth?: { stack: string; names: string[]; text: string };
  compose?: { project: string; file: string };
  /** Why a side has no running stack. */
  berthErr?: string;
  composeErr?: string;
}

/**
 * Measures scenario 1, then calls `whileRunning` with the stacks it left running. Every
 * stack it created is removed before it returns or throws.
 */
export async function benchStack<T>(ctx: Ctx, whileRunning: (running: RunningStacks) => Promise<T>) {
  const { o, berth: b } = ctx;
  const berthMs: number[] = [];
  const composeMs: number[] = [];
  const composeUpMs: number[] = [];
  const applyReturnedMs: number[] = [];
  const firstCreated: number[] = [];
  const firstStarted: number[] = [];
  const lastStarted: number[] = [];
  const createdToStarted: number[] = [];
  const errs: { berth?: string; compose?: string } = {};
  const missing = composeMissing(ctx);
  if (missing) errs.compose = missing;
  const running: RunningStacks = {};
  const cleanupBerth: string[][] = [];
  const cleanupCompose: { project: string; file: string }[] = [];

  const berthRep = async (rep: number, keep: boolean) => {
    const stack = `s10-${rep}`;
    const names = range(o.stackSize).map((i) => `s${rep}-c${i}`);
    const text = names.map((n) => ctrDoc(n, sleeperSpec)).join("");
    cleanupBerth.push(names);
    const wall0 = Date.now();
    const t0 = now();
    await applyOrThrow(b.client, stack, text);
    applyReturnedMs.push(now() - t0);
    await untilStack(b.client, stack, names.length, "all Running", (s) => s.phase === "Running", o.stepTimeoutMs, o.pollMs);
    berthMs.push(now() - t0);
    // Where the time went, from the controller's events (ms after the apply was sent).
    const evs = (await b.client.events()).filter((e) => Date.parse(e.time) >= wall0 && names.includes(e.object.slice("container/".length)));
    const times = (reason: string) => evs.filter((e) => e.reason === reason).map((e) => Date.parse(e.time) - wall0);
    const startedAt = times("Started");
    firstCreated.push(Math.min(...times("Created")));
    firstStarted.push(Math.min(...startedAt));
    lastStarted.push(Math.max(...startedAt));
    const of = (n: string) => evs.filter((e) => e.object === `container/${n}`);
    createdToStarted.push(median(names.map((n) => firstAt(of(n), "Started") - firstAt(of(n), "Created"))));
    if (keep) running.berth = { stack, names, text };
    else {
      await berthRemove(b, names, o);
      cleanupBerth.pop();
    }
  };
  const composeRep = async (rep: number, keep: boolean) => {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}s10r${rep}`;
    const file = await writeCompose(dk, project, composeSleepers(o.stackSize));
    cleanupCompose.push({ project, file });
    const t0 = now();
    const r = await composeUpPolling(dk, project, file, [], t0, async () => (await dk.list(project)).filter((c) => c.State === "running").length === o.stackSize, o);
    composeMs.push(r.doneMs);
    composeUpMs.push(r.upReturnedMs);
    if (keep) running.compose = { project, file };
    else {
      await mustCompose(dk, project, file, ["down", "-t", "0"]);
      cleanupCompose.pop();
    }
  };

  let inner: T;
  try {
    await warmUp(ctx, errs);
    for (const rep of range(o.stackReps)) {
      const last = rep === o.stackReps - 1;
      await alternate(rep, errs, () => berthRep(rep, last), () => composeRep(rep, last));
    }
    inner = await whileRunning({ ...running, ...(errs.berth ? { berthErr: errs.berth } : {}), ...(errs.compose ? { composeErr: errs.compose } : {}) });
  } finally {
    for (const names of cleanupBerth) await berthRemove(b, names, o).catch(() => {});
    for (const c of cleanupCompose) await composeDown(ctx.docker!, c.project, c.file);
  }
  const apply10 = {
    size: o.stackSize,
    berth:
      errs.berth && !berthMs.length
        ? { notMeasured: errs.berth }
        : {
            ...summarize(berthMs),
            applyReturned: summarize(applyReturnedMs),
            eventsMedianMs: {
              firstCreated: round(median(firstCreated)),
              firstStarted: round(median(firstStarted)),
              lastStarted: round(median(lastStarted)),
              createdToStartedPerContainer: round(median(createdToStarted)),
            },
          },
    compose: errs.compose && !composeMs.length ? { notMeasured: errs.compose } : { ...summarize(composeMs), upReturnedMs: summarize(composeUpMs) },
    ratio: ratio(median(berthMs), median(composeMs)),
  };
  return { apply10, inner };
}

/** Untimed, on both sides: one container started and removed (first-use costs). A failure ends that side. */
async function warmUp(ctx: Ctx, errs: { berth?: string; compose?: string }): Promise<void> {
  const { o, berth: b } = ctx;
  try {
    await applyOrThrow(b.client, "warm", ctrDoc("warm-0", sleeperSpec));
    await until("warm-0 Running", async () => (cs(await b.client.get("Container", "warm-0")).phase === "Running" ? true : undefined), o.stepTimeoutMs, 50);
    await berthRemove(b, ["warm-0"], o);
  } catch (err) {
    errs.berth = `warm-up: ${errText(err)}`;
  }
  if (errs.compose) return;
  const dk = ctx.docker!;
  const project = `${ctx.prefix}warm`;
  const file = await writeCompose(dk, project, composeSleepers(1));
  try {
    await mustCompose(dk, project, file, ["up", "-d"]);
  } catch (err) {
    errs.compose = `warm-up: ${errText(err)}`;
  } finally {
    await composeDown(dk, project, file);
  }
}

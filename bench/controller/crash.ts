/**
 * Scenario 4: `kill -9` of a `restartPolicy: always` container until its replacement runs
 * (a new pid), vs a `docker run --restart always` container; with the breakdown from each
 * side's events. One container per repetition, removed in `finally`.
 */
import { until } from "../../test/helpers/daemon.js";
import { errText } from "../proc.js";
import { median, now, range, ratio, round, sleep, summarize, type Summary } from "../stats.js";
import { applyOrThrow, berthRemove, cs, ctrDoc, eventsSince, failed, firstAt, IMAGE, sleeperSpec, untilStack, type Ctx } from "./helpers.js";

export async function benchCrash(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const reps = o.crashReps;
  // One container per repetition: each sees its first crash, so the restart delay is the
  // initial backoff on both sides (berth 100ms; dockerd's restart manager 100ms too).
  const berthRes = { total: [] as number[], killToDied: [] as number[], diedToRestarted: [] as number[], restartedToObserved: [] as number[], killToNewStart: [] as number[] };
  let berthOut: unknown;
  const names = range(reps).map((i) => `crash-${i}`);
  try {
    await applyOrThrow(b.client, "crash", names.map((n) => ctrDoc(n, { ...sleeperSpec, restartPolicy: "always" })).join(""));
    await untilStack(b.client, "crash", reps, "all Running", (s) => s.phase === "Running", o.stepTimeoutMs, 50);
    for (const name of names) {
      await sleep(300);
      const before = cs(await b.client.get("Container", name));
      const wall = Date.now();
      const t0 = now();
      process.kill(before.pid!, "SIGKILL");
      const after = await until(`${name} replaced`, async () => {
        const s = cs(await b.client.get("Container", name));
        return s.phase === "Running" && s.pid && s.pid !== before.pid ? s : undefined;
      }, 30_000, o.pollMs);
      const obs = Date.now();
      berthRes.total.push(now() - t0);
      const evs = await eventsSince(b.client, `container/${name}`, wall - 1);
      const died = firstAt(evs, "Died");
      const restarted = firstAt(evs, "Restarted");
      berthRes.killToDied.push(died - wall);
      berthRes.diedToRestarted.push(restarted - died);
      berthRes.restartedToObserved.push(obs - restarted);
      berthRes.killToNewStart.push(Date.parse(after.startedAt ?? "") - wall);
      if (after.restartCount !== before.restartCount + 1) ctx.notes.push(`crash ${name}: restartCount ${before.restartCount} → ${after.restartCount}`);
    }
    berthOut = {
      ...summarize(berthRes.total),
      breakdownMedianMs: {
        killToDiedEvent: round(median(berthRes.killToDied)),
        diedToRestartedEvent: round(median(berthRes.diedToRestarted)),
        restartedEventToObservedRunning: round(median(berthRes.restartedToObserved)),
        killToNewStartedAt: round(median(berthRes.killToNewStart)),
      },
    };
  } catch (err) {
    berthOut = berthRes.total.length ? { ...summarize(berthRes.total), error: errText(err) } : failed(err);
  } finally {
    await berthRemove(b, names, o).catch(() => {});
  }

  let dockerOut: unknown;
  if (!ctx.docker) dockerOut = { notMeasured: ctx.dockerMissing ?? "no private dockerd" };
  else {
    const dk = ctx.docker;
    const res = { total: [] as number[], killToDie: [] as number[], dieToStart: [] as number[], startToObserved: [] as number[], killToNewStart: [] as number[] };
    const ids: string[] = [];
    try {
      for (const i of range(reps)) {
        const out = await dk.d.mustDocker(["run", "-d", "--name", `${ctx.prefix}crash${i}`, "--network", "none", "--restart", "always", "--stop-signal", "SIGKILL", IMAGE, "sleep", "3600"], { timeoutMs: o.stepTimeoutMs });
        ids.push(out.trim());
      }
      for (const id of ids) {
        await sleep(300);
        const before = await dk.inspect(id);
        const wall = Date.now();
        const t0 = now();
        process.kill(before.State.Pid, "SIGKILL");
        const after = await until(`docker ${id.slice(0, 12)} replaced`, async () => {
          const j = await dk.inspect(id);
          return j.State.Running && j.State.Pid > 0 && j.State.Pid !== before.State.Pid ? j : undefined;
        }, 30_000, o.pollMs);
        const obs = Date.now();
        res.total.push(now() - t0);
        const evs = (await dk.events("", wall - 1)).filter((e) => e.Actor.ID === id);
        const die = evs.find((e) => e.Action === "die");
        const start = evs.find((e) => e.Action === "start");
        const dieMs = die ? die.timeNano / 1e6 : NaN;
        const startMs = start ? start.timeNano / 1e6 : NaN;
        res.killToDie.push(dieMs - wall);
        res.dieToStart.push(startMs - dieMs);
        res.startToObserved.push(obs - startMs);
        res.killToNewStart.push(Date.parse(after.State.StartedAt) - wall);
      }
      dockerOut = {
        ...summarize(res.total),
        breakdownMedianMs: {
          killToDieEvent: round(median(res.killToDie)),
          dieToStartEvent: round(median(res.dieToStart)),
          startEventToObservedRunning: round(median(res.startToObserved)),
          killToNewStartedAt: round(median(res.killToNewStart)),
        },
      };
    } catch (err) {
      dockerOut = res.total.length ? { ...summarize(res.total), error: errText(err) } : failed(err);
    } finally {
      if (ids.length) await dk.d.docker(["rm", "-f", ...ids], { timeoutMs: o.stepTimeoutMs });
    }
  }
  return {
    note: "kill -9 of the container's pid (status.pid / State.Pid); each repetition is a different container's first crash, so the restart delay is the initial backoff (100ms on both)",
    berth: berthOut,
    docker: dockerOut,
    ratio: ratio((berthOut as Summary).medianMs, (dockerOut as Summary).medianMs),
  };
}


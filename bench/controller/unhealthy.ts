/**
 * Scenario 5: a healthcheck failing `retries` times until the restarted container runs (a
 * new pid), with the breakdown from the events. Docker only reports unhealthy and restarts
 * nothing: its detection time is shown for reference. Containers are removed in `finally`.
 */
import { until } from "../../test/helpers/daemon.js";
import type { ContainerStatusView } from "../../controller/api/protocol.js";
import { errText } from "../proc.js";
import { median, range, round, sleep, summarize } from "../stats.js";
import { applyOrThrow, berthRemove, composeDown, composeMissing, cs, ctrDoc, eventsSince, failed, firstAt, IMAGE, mustCompose, TERM_AWARE, untilStack, writeCompose, type Ctx } from "./helpers.js";

export async function benchUnhealthy(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const reps = o.unhealthyReps;
  const names = range(reps).map((i) => `hc-${i}`);
  const r = {
    rmToUnhealthy: [] as number[],
    lastFailureToUnhealthy: [] as number[],
    unhealthyToDied: [] as number[],
    diedToRestarted: [] as number[],
    unhealthyToNewStartedAt: [] as number[],
    unhealthyToObserved: [] as number[],
    failureToObserved: [] as number[],
  };
  let berthOut: unknown;
  try {
    await applyOrThrow(
      b.client,
      "health",
      names
        .map((n) =>
          ctrDoc(n, {
            command: ["sh", "-c", TERM_AWARE],
            restartPolicy: "always",
            stopGracePeriod: "2s",
            healthcheck: { exec: ["test", "-f", "/tmp/ok"], interval: "300ms", timeout: "2s", retries: 3 },
          }),
        )
        .join(""),
    );
    await untilStack(b.client, "health", reps, "all healthy", (s) => s.phase === "Running" && s.health === "healthy", o.stepTimeoutMs, 50);
    for (const name of names) {
      const before = cs(await b.client.get("Container", name));
      const ex = await b.client.exec(name, { argv: ["rm", "/tmp/ok"] });
      const rmDone = Date.now();
      if (ex.exitCode !== 0) throw new Error(`exec rm /tmp/ok in ${name} exited ${ex.exitCode}`);
      let lastOld: ContainerStatusView | undefined;
      const after = await until(`${name} restarted after turning unhealthy`, async () => {
        const s = cs(await b.client.get("Container", name));
        if (s.pid === before.pid) lastOld = s;
        return s.phase === "Running" && s.pid && s.pid !== before.pid ? s : undefined;
      }, 30_000, o.pollMs);
      const obs = Date.now();
      const evs = await eventsSince(b.client, `container/${name}`, rmDone - 1);
      const unhealthy = firstAt(evs, "Unhealthy");
      const died = firstAt(evs, "Died");
      const restarted = firstAt(evs, "Restarted");
      const failures = (lastOld?.healthResults ?? []).filter((h) => h.result === "failure" && Date.parse(h.start) >= rmDone - 1);
      const lastFailureEnd = failures.length >= 3 ? Date.parse(failures[2]!.end) : NaN;
      r.rmToUnhealthy.push(unhealthy - rmDone);
      r.lastFailureToUnhealthy.push(unhealthy - lastFailureEnd);
      r.unhealthyToDied.push(died - unhealthy);
      r.diedToRestarted.push(restarted - died);
      r.unhealthyToNewStartedAt.push(Date.parse(after.startedAt ?? "") - unhealthy);
      r.unhealthyToObserved.push(obs - unhealthy);
      r.failureToObserved.push(obs - lastFailureEnd);
    }
    berthOut = {
      ...summarize(r.unhealthyToObserved),
      fromRetriesThFailureToObserved: summarize(r.failureToObserved),
      breakdownMedianMs: {
        rmToUnhealthyEvent: round(median(r.rmToUnhealthy)),
        retriesThFailureEndToUnhealthyEvent: round(median(r.lastFailureToUnhealthy)),
        unhealthyToDiedEvent: round(median(r.unhealthyToDied)),
        diedToRestartedEvent: round(median(r.diedToRestarted)),
        unhealthyToNewStartedAt: round(median(r.unhealthyToNewStartedAt)),
      },
    };
  } catch (err) {
    berthOut = r.unhealthyToObserved.length ? { ...summarize(r.unhealthyToObserved), error: errText(err) } : failed(err);
  } finally {
    await berthRemove(b, names, o).catch(() => {});
  }

  // Docker: the same container and check; it reports unhealthy and does nothing else.
  let dockerOut: unknown;
  const missing = composeMissing(ctx);
  if (missing) dockerOut = { notMeasured: missing };
  else {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}health`;
    const file = await writeCompose(
      dk,
      project,
      Object.fromEntries(
        range(reps).map((i) => [
          `h${i}`,
          {
            image: IMAGE,
            network_mode: "none",
            restart: "always",
            command: ["sh", "-c", TERM_AWARE],
            stop_grace_period: "2s",
            healthcheck: { test: ["CMD", "test", "-f", "/tmp/ok"], interval: "300ms", timeout: "2s", retries: 3 },
          },
        ]),
      ),
    );
    try {
      await mustCompose(dk, project, file, ["up", "-d"]);
      await until(`${project} healthy`, async () => {
        const l = await dk.list(project);
        return l.length === reps && l.every((c) => c.Status.includes("(healthy)")) ? true : undefined;
      }, o.stepTimeoutMs, 50);
      const rmToUnhealthy: number[] = [];
      let restarted = 0;
      for (const c of await dk.list(project)) {
        const before = await dk.inspect(c.Id);
        await dk.d.mustDocker(["exec", c.Id, "rm", "/tmp/ok"], { timeoutMs: o.stepTimeoutMs });
        const rmDone = Date.now();
        const j = await until(`docker ${c.Id.slice(0, 12)} unhealthy`, async () => {
          const x = await dk.inspect(c.Id);
          return x.State.Health?.Status === "unhealthy" ? x : undefined;
        }, 30_000, o.pollMs);
        const log = j.State.Health?.Log ?? [];
        rmToUnhealthy.push(Date.parse(log[log.length - 1]?.End ?? "") - rmDone);
        await sleep(2000);
        const later = await dk.inspect(c.Id);
        if (later.State.Pid !== before.State.Pid || later.RestartCount !== before.RestartCount) restarted++;
      }
      dockerOut = {
        restart: "not supported: dockerd marks the container unhealthy and leaves it running (restart policies act on exits only)",
        rmToUnhealthyStatus: summarize(rmToUnhealthy),
        restartedWithin2s: restarted,
      };
    } catch (err) {
      dockerOut = failed(err);
    } finally {
      await composeDown(dk, project, file);
    }
  }
  return {
    note: "exec healthcheck [test, -f, /tmp/ok], interval 300ms, retries 3, made to fail by `exec rm /tmp/ok`; pid 1 exits on SIGTERM, so the stop is not a grace-period wait; first unhealthy restart of each container (backoff 100ms)",
    berth: berthOut,
    docker: dockerOut,
  };
}

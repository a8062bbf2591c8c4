/**
 * Scenario 2: a `chainDepth`-deep `dependsOn: healthy` chain c0 ← c1 ← … (exec healthcheck,
 * interval 200ms) until all are Running and healthy, vs compose `depends_on: {condition:
 * service_healthy}`; per link, the handoff (dependency healthy → dependent started) and
 * start → healthy, from each side's events. Each repetition's stack is removed in `finally`.
 */
import { mean, median, now, range, ratio, round, summarize } from "../stats.js";
import { until } from "../../test/helpers/daemon.js";
import { alternate, applyOrThrow, berthRemove, composeDown, composeMissing, composeUpPolling, ctrDoc, firstAt, IMAGE, stackStatus, writeCompose, type Ctx } from "./helpers.js";

const HEALTH = { exec: ["test", "-f", "/tmp/ok"], interval: "200ms", timeout: "2s", retries: 3, startPeriod: "0s" };
const COMMAND = ["sh", "-c", "touch /tmp/ok; exec sleep 3600"];

export async function benchChain(ctx: Ctx) {
  const { o, berth: b } = ctx;
  const n = o.chainDepth;
  const res = {
    berth: { allRunning: [] as number[], allHealthy: [] as number[], handoff: [] as number[], startToHealthy: [] as number[] },
    compose: { upReturned: [] as number[], allRunning: [] as number[], allHealthy: [] as number[], handoff: [] as number[], startToHealthy: [] as number[] },
  };
  const errs: { berth?: string; compose?: string } = {};
  const missing = composeMissing(ctx);
  if (missing) errs.compose = missing;

  const berthRep = async (rep: number) => {
    const stack = `chain-${rep}`;
    const names = range(n).map((i) => `k${rep}-c${i}`);
    const text = names
      .map((name, i) =>
        ctrDoc(name, {
          command: COMMAND,
          stopSignal: "SIGKILL",
          stopGracePeriod: "1s",
          healthcheck: HEALTH,
          ...(i ? { dependsOn: [{ name: names[i - 1]!, condition: "healthy" }] } : {}),
        }),
      )
      .join("");
    const wall0 = Date.now();
    const t0 = now();
    let runningMs: number | undefined;
    try {
      await applyOrThrow(b.client, stack, text);
      await until(`${stack} all healthy`, async () => {
        const l = await stackStatus(b.client, stack);
        if (l.length !== n) return undefined;
        if (runningMs === undefined && l.every((x) => x.s.phase === "Running")) runningMs = now() - t0;
        return l.every((x) => x.s.phase === "Running" && x.s.health === "healthy") ? true : undefined;
      }, o.stepTimeoutMs, o.pollMs);
      res.berth.allHealthy.push(now() - t0);
      res.berth.allRunning.push(runningMs ?? NaN);
      const all = (await b.client.events()).filter((e) => Date.parse(e.time) >= wall0);
      const at = (name: string, reason: string) => firstAt(all.filter((e) => e.object === `container/${name}`), reason);
      for (const [i, name] of names.entries()) {
        const started = at(name, "Started");
        res.berth.startToHealthy.push(at(name, "Healthy") - started);
        if (i) res.berth.handoff.push(started - at(names[i - 1]!, "Healthy"));
      }
    } finally {
      await berthRemove(b, names, o);
    }
  };

  const composeRep = async (rep: number) => {
    const dk = ctx.docker!;
    const project = `${ctx.prefix}chainr${rep}`;
    const services = Object.fromEntries(
      range(n).map((i) => [
        `c${i}`,
        {
          image: IMAGE,
          network_mode: "none",
          command: COMMAND,
          stop_signal: "SIGKILL",
          healthcheck: { test: ["CMD", ...HEALTH.exec], interval: HEALTH.interval, timeout: HEALTH.timeout, retries: HEALTH.retries, start_period: HEALTH.startPeriod },
          ...(i ? { depends_on: { [`c${i - 1}`]: { condition: "service_healthy" } } } : {}),
        },
      ]),
    );
    const file = await writeCompose(dk, project, services);
    const wall0 = Date.now();
    const t0 = now();
    try {
      let runningMs: number | undefined;
      const r = await composeUpPolling(dk, project, file, [], t0, async () => {
        const l = await dk.list(project);
        if (l.length !== n) return false;
        if (runningMs === undefined && l.every((c) => c.State === "running")) runningMs = now() - t0;
        return l.every((c) => c.State === "running" && c.Status.includes("(healthy)"));
      }, o);
      res.compose.upReturned.push(r.upReturnedMs);
      res.compose.allHealthy.push(r.doneMs);
      res.compose.allRunning.push(runningMs ?? NaN);
      const evs = await dk.events(project, wall0 - 1000);
      const at = (svc: string, action: string) => {
        const e = evs.find((x) => x.Actor.Attributes["com.docker.compose.service"] === svc && x.Action === action);
        return e ? e.timeNano / 1e6 : NaN;
      };
      for (const i of range(n)) {
        const started = at(`c${i}`, "start");
        res.compose.startToHealthy.push(at(`c${i}`, "health_status: healthy") - started);
        if (i) res.compose.handoff.push(started - at(`c${i - 1}`, "health_status: healthy"));
      }
    } finally {
      await composeDown(dk, project, file);
    }
  };

  for (const rep of range(o.chainReps)) await alternate(rep, errs, () => berthRep(rep), () => composeRep(rep));
  const link = (xs: number[]) => ({ meanMs: round(mean(xs)), medianMs: round(median(xs)), n: xs.filter(Number.isFinite).length });
  return {
    depth: n,
    note: "healthcheck exec [test, -f, /tmp/ok], interval 200ms, timeout 2s, retries 3, startPeriod 0; with startPeriod 0 startInterval is never used (Docker's semantics), so the first probe of each link runs one interval after its start",
    berth:
      errs.berth && !res.berth.allHealthy.length
        ? { notMeasured: errs.berth }
        : { allRunning: summarize(res.berth.allRunning), allHealthy: summarize(res.berth.allHealthy), perLink: { handoff: link(res.berth.handoff), startToHealthy: link(res.berth.startToHealthy) } },
    compose:
      errs.compose && !res.compose.allHealthy.length
        ? { notMeasured: errs.compose }
        : {
            upReturned: summarize(res.compose.upReturned),
            allRunning: summarize(res.compose.allRunning),
            allHealthy: summarize(res.compose.allHealthy),
            perLink: { handoff: link(res.compose.handoff), startToHealthy: link(res.compose.startToHealthy) },
          },
    ratioAllRunning: ratio(median(res.berth.allRunning), median(res.compose.allRunning)),
    ratioAllHealthy: ratio(median(res.berth.allHealthy), median(res.compose.allHealthy)),
  };
}

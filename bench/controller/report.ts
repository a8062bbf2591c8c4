/** The controller benchmark's tables on stdout, from its JSON summary (what is printed is what is returned). */
import type { ControllerBenchOptions } from "./options.js";

type Row = [string, ...(string | number | null | undefined)[]];

function printTable(title: string, header: string[], rows: Row[]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : typeof c === "number" ? String(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const r of cells) console.log(`  ${r.map((c, i) => (i === 0 ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!))).join("  ")}`);
}

const get = (x: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), x);
const num = (x: unknown) => (typeof x === "number" ? x : null);
const why = (x: unknown) => (get(x, "notMeasured") as string | undefined) ?? (get(x, "error") as string | undefined);
const statRow = (label: string, s: unknown, r: number | null = null, extra = ""): Row => {
  const reason = why(s);
  if (reason && num(get(s, "medianMs")) === null) return [label, "-", "-", "-", "-", `not measured: ${reason.slice(0, 140)}`];
  return [label, num(get(s, "medianMs")), num(get(s, "minMs")), num(get(s, "maxMs")), r === null ? "" : `${r}x`, extra];
};
const H = ["", "median ms", "min", "max", "ratio", "notes"];

export function report(out: Record<string, unknown>, o: ControllerBenchOptions): void {
  const v = out.versions as Record<string, string | null>;
  console.log(`\nController vs Docker Compose / dockerd (berth in-process, API polled every ${o.pollMs}ms; ${v.compose ?? "no compose"}, dockerd ${v.dockerd ?? "-"}, ${v.runc}, ${v.conmon})`);
  console.log("  ratio = berth / Docker: below 1 berth is faster (or smaller)");

  const a = out.apply10;
  printTable(`1. apply of ${o.stackSize} independent containers → all Running (median of ${o.stackReps})`, H, [
    statRow(
      "berth apply (API) + poll list",
      get(a, "berth"),
      num(get(a, "ratio")),
      `apply returned ${num(get(a, "berth", "applyReturned", "medianMs")) ?? "-"}; events: 1st Created ${num(get(a, "berth", "eventsMedianMs", "firstCreated")) ?? "-"}, 1st Started ${num(get(a, "berth", "eventsMedianMs", "firstStarted")) ?? "-"}, last Started ${num(get(a, "berth", "eventsMedianMs", "lastStarted")) ?? "-"}; Created→Started ${num(get(a, "berth", "eventsMedianMs", "createdToStartedPerContainer")) ?? "-"}/ctr`,
    ),
    statRow("docker-compose up -d + poll", get(a, "compose"), null, `up -d returned at ${num(get(a, "compose", "upReturnedMs", "medianMs")) ?? "-"} ms`),
  ]);

  const c = out.chain10Healthy;
  printTable(`2. ${o.chainDepth}-deep dependsOn: healthy chain (interval 200ms) → all Running / all healthy (median of ${o.chainReps})`, ["", "all Running", "all healthy", "ratio healthy", "per link: handoff", "start→healthy", "notes"], [
    why(get(c, "berth")) && !get(c, "berth", "allHealthy")
      ? ["berth", "-", "-", "-", "-", "-", `not measured: ${why(get(c, "berth"))!.slice(0, 140)}`]
      : ["berth", num(get(c, "berth", "allRunning", "medianMs")), num(get(c, "berth", "allHealthy", "medianMs")), `${num(get(c, "ratioAllHealthy")) ?? "-"}x`, num(get(c, "berth", "perLink", "handoff", "medianMs")), num(get(c, "berth", "perLink", "startToHealthy", "medianMs")), "events: dep Healthy → Started; Started → Healthy"],
    why(get(c, "compose")) && !get(c, "compose", "allHealthy")
      ? ["docker-compose", "-", "-", "-", "-", "-", `not measured: ${why(get(c, "compose"))!.slice(0, 140)}`]
      : ["docker-compose up -d", num(get(c, "compose", "allRunning", "medianMs")), num(get(c, "compose", "allHealthy", "medianMs")), "", num(get(c, "compose", "perLink", "handoff", "medianMs")), num(get(c, "compose", "perLink", "startToHealthy", "medianMs")), `up -d returned at ${num(get(c, "compose", "upReturned", "medianMs")) ?? "-"} ms; docker events`],
  ]);
  if (get(c, "notMeasured")) console.log(`  not measured: ${why(c)}`);

  const n = out.noopReapply;
  printTable(`3. no-op re-apply of the ${o.stackSize}-container stack (nothing changes)`, H, [
    statRow(`berth apply, API round trip (×${o.noopApiReps})`, get(n, "berthApi"), num(get(n, "ratioApi")), `all unchanged: ${get(n, "berthApi", "allUnchanged") ?? "-"}, pids kept: ${get(n, "berthApi", "samePids") ?? "-"}`),
    statRow(`berth CLI apply, a process (×${o.noopCliReps})`, get(n, "berthCli"), num(get(n, "ratioCli")), `all unchanged: ${get(n, "berthCli", "allUnchanged") ?? "-"}`),
    statRow(`docker-compose up -d (×${o.noopComposeReps})`, get(n, "compose"), null, `containers kept: ${get(n, "compose", "sameContainers") ?? "-"}`),
    statRow("  floor: berth validate -f (CLI, no daemon)", get(n, "berthCliValidateFloor")),
    statRow("  floor: docker-compose config -q", get(n, "composeConfigFloor")),
  ]);

  const k = out.crashRestart;
  printTable(`4. kill -9 of a restart: always container → replacement Running, new pid (median of ${o.crashReps})`, H, [
    statRow("berth (backoff 100ms)", get(k, "berth"), num(get(k, "ratio")), `kill→Died ${num(get(k, "berth", "breakdownMedianMs", "killToDiedEvent")) ?? "-"}, Died→Restarted ${num(get(k, "berth", "breakdownMedianMs", "diedToRestartedEvent")) ?? "-"}, →seen ${num(get(k, "berth", "breakdownMedianMs", "restartedEventToObservedRunning")) ?? "-"}`),
    statRow("docker --restart always", get(k, "docker"), null, `kill→die ${num(get(k, "docker", "breakdownMedianMs", "killToDieEvent")) ?? "-"}, die→start ${num(get(k, "docker", "breakdownMedianMs", "dieToStartEvent")) ?? "-"}, →seen ${num(get(k, "docker", "breakdownMedianMs", "startEventToObservedRunning")) ?? "-"}`),
  ]);
  if (get(k, "notMeasured")) console.log(`  not measured: ${why(k)}`);

  const u = out.unhealthyRestart;
  const bu = get(u, "berth");
  printTable(`5. healthcheck fails retries (3) times → restarted container Running, new pid (median of ${o.unhealthyReps})`, H, [
    statRow("berth: Unhealthy event → Running", bu, null, `Unhealthy→Died ${num(get(bu, "breakdownMedianMs", "unhealthyToDiedEvent")) ?? "-"}, Died→Restarted ${num(get(bu, "breakdownMedianMs", "diedToRestartedEvent")) ?? "-"}`),
    statRow("berth: 3rd failure's end → Running", get(bu, "fromRetriesThFailureToObserved"), null, `rm→Unhealthy ${num(get(bu, "breakdownMedianMs", "rmToUnhealthyEvent")) ?? "-"} ms`),
    why(get(u, "docker"))
      ? ["docker", "-", "-", "-", "-", `not measured: ${why(get(u, "docker"))!.slice(0, 140)}`]
      : ["docker", "n/a", "-", "-", "n/a", `no equivalent: dockerd does not restart unhealthy containers (restarted within 2s: ${get(u, "docker", "restartedWithin2s")}); rm→unhealthy ${num(get(u, "docker", "rmToUnhealthyStatus", "medianMs")) ?? "-"} ms`],
  ]);
  if (get(u, "notMeasured")) console.log(`  not measured: ${why(u)}`);

  const m = out.daemonRss;
  const memRows: Row[] = [];
  for (const [label, key] of [["berth daemon (node)", "berth"], ["dockerd + containerd", "docker"]] as const) {
    const x = get(m, key);
    if (why(x)) {
      memRows.push([label, "-", "-", "-", "-", "-", `not measured: ${why(x)!.slice(0, 140)}`]);
      continue;
    }
    memRows.push([
      label,
      num(get(x, "idle", "totalRssKiB")),
      num(get(x, "loaded", "totalRssKiB")),
      num(get(x, "loaded", "daemonPssKiB")),
      num(get(x, "loaded", "monitorsPssKiB")),
      num(get(x, "startAllMs")),
      key === "docker" ? `dockerd ${num(get(x, "idle", "daemonRssKiB"))}/${num(get(x, "loaded", "daemonRssKiB"))} + containerd ${num(get(x, "idle", "helperRssKiB"))}/${num(get(x, "loaded", "helperRssKiB"))}` : `${get(x, "loaded", "monitors") ?? "-"} conmon; fresh, nothing applied: ${num(get(x, "fresh", "totalRssKiB"))}`,
    ]);
  }
  memRows.push(["ratio berth / docker", `${num(get(m, "ratioIdle")) ?? "-"}x`, `${num(get(m, "ratioLoaded")) ?? "-"}x`, "", "", "", ""]);
  printTable(`6. daemon RSS, separate process, KiB (idle: image imported; fresh: nothing applied yet; and ${o.memoryContainers} × sleep 3600; ${o.settleMs / 1000}s settle); monitors = sum over conmon / containerd-shim`, ["", "idle RSS", `RSS @${o.memoryContainers}`, `PSS @${o.memoryContainers}`, `monitors PSS @${o.memoryContainers}`, `start ${o.memoryContainers} ms`, "notes"], memRows);
  if (Array.isArray(out.notes) && out.notes.length) console.log(`\n  notes: ${(out.notes as string[]).join("; ")}`);
}

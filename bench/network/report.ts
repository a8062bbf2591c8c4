/** The network benchmark's tables on stdout, from its summary (what is printed is what is returned). */
import type { NetworkBenchOptions } from "./options.js";

type Cell = string | number | null | undefined;

function printTable(title: string, header: string[], rows: Cell[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const r of cells) console.log(`  ${r.map((c, i) => (i === 0 || i === r.length - 1 ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!))).join("  ")}`);
}

const get = (x: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), x);
const num = (x: unknown) => (typeof x === "number" ? x : null);
const err = (x: unknown) => get(x, "error") as string | undefined;

export function report(out: Record<string, unknown>, o: NetworkBenchOptions): void {
  console.log(`\nNetworking (issue 9): berth vs docker / podman / runc, side by side (prefix ${String(out.prefix)})`);
  const s = out.start;
  if (err(s)) console.log(`\n1. start: failed: ${err(s)}`);
  else {
    const rows = (get(s, "rows") as { name: string; version?: string; skipped?: string; start?: { medianMs: number; minMs: number; maxMs: number }; network?: { medianMs: number } }[]) ?? [];
    const docker = rows.find((r) => r.name.startsWith("docker run -d --network bridge"))?.start?.medianMs ?? null;
    printTable(`1. create+start until running, one container (median of ${o.startRounds}; ratio = row / docker bridge -p)`, ["", "median ms", "min", "max", "network ms", "ratio", "notes"], rows.map((r) =>
      r.start ? [r.name, r.start.medianMs, r.start.minMs, r.start.maxMs, r.network?.medianMs, docker && r.start.medianMs ? `${(r.start.medianMs / docker).toFixed(2)}x` : null, `${r.skipped ? `STOPPED: ${r.skipped.slice(0, 100)} ` : ""}${r.version ?? ""}`] : [r.name, null, null, null, null, null, `skipped: ${(r.skipped ?? "").slice(0, 160)}`],
    ));
    const ra = get(s, "ratios") as Record<string, unknown>;
    console.log(`  berth bridge / docker -p: ${ra.berthBridgeVsDocker ?? "-"}x (goal ≤ 0.5); / podman -p: ${ra.berthBridgeVsPodman ?? "-"}x; / runc floor: ${ra.berthBridgeVsRunc ?? "-"}x; bridge − none: ${ra.bridgeOverheadMs ?? "-"} ms; network calls = ${ra.networkPartShare ?? "-"} of the bridge start`);
    console.log("  (docker's private dockerd runs --iptables=false: its -p is docker-proxy without DNAT rules, a lower bound for docker)");
  }
  const d = out.dns;
  if (err(d)) console.log(`\n2. dns: failed: ${err(d)}`);
  else {
    printTable(`2. a started container's name resolving on a peer (median of ${o.dnsRounds}; ${String(get(d, "method"))})`, ["", "median ms", "min", "max", "notes"], [
      ["first answer − start returned", num(get(d, "resolvedAfterRunningMs", "medianMs")), num(get(d, "resolvedAfterRunningMs", "minMs")), num(get(d, "resolvedAfterRunningMs", "maxMs")), "negative: resolvable before running"],
      ["first answer − connect returned", num(get(d, "resolvedAfterConnectMs", "medianMs")), num(get(d, "resolvedAfterConnectMs", "minMs")), num(get(d, "resolvedAfterConnectMs", "maxMs")), ""],
      ["first answer − sequence began", num(get(d, "resolvedAfterSequenceBeginMs", "medianMs")), num(get(d, "resolvedAfterSequenceBeginMs", "minMs")), num(get(d, "resolvedAfterSequenceBeginMs", "maxMs")), "reserve → create → connect → start"],
    ]);
    console.log(`  busybox nslookup in the peer: ${get(d, "peerNslookup", "ok") ? "resolves" : `FAILED: ${String(get(d, "peerNslookup", "output") ?? "").replace(/\s+/g, " ").slice(0, 200)}`}; failures: ${((get(d, "failures") as string[]) ?? []).join("; ") || "none"}`);
  }
  const t = out.throughput;
  if (err(t)) console.log(`\n3. throughput: failed: ${err(t)}`);
  else {
    const rows = (get(t, "rows") as { path: string; key: string; medianMBps: number | null; samplesMBps: number[]; error?: string }[]) ?? [];
    const lo = rows.find((r) => r.key === "loopback")?.medianMBps ?? null;
    printTable(`3. ${(o.transferBytes / 2 ** 20).toFixed(0)} MiB from the host, node client (median of ${o.transferReps}; ratio = row / loopback)`, ["", "MB/s", "ratio", "samples"], rows.map((r) => [r.path, r.medianMBps, lo && r.medianMBps ? `${(r.medianMBps / lo).toFixed(2)}x` : null, r.error ? `ERROR ${r.error.slice(0, 120)}` : r.samplesMBps.join(" ")]));
  }
  const c = out.churn;
  const counts = (x: unknown) => `iptables ${num(get(x, "iptablesLines")) ?? "-"}, ipam ${num(get(x, "ipamAddresses")) ?? "-"}, bridge ports ${num(get(x, "bridgePorts")) ?? "-"}, netns ${num(get(x, "netns")) ?? "-"}, bv (all roots) ${num(get(x, "bvLinksAll")) ?? "-"}`;
  const churnRows = (label: string, x: unknown): Cell[][] =>
    err(x) && get(x, "before") === undefined
      ? [[label, "-", "-", "-", `failed: ${err(x)}`]]
      : [
          [`${label}: before`, "", "", "", counts(get(x, "before"))],
          [`${label}: one up`, "", "", "", counts(get(x, "during"))],
          [`${label}: after ${num(get(x, "cycles"))}`, num(get(x, "cycleMs", "medianMs")), "", get(x, "pass") ? "PASS" : "FAIL", counts(get(x, "after")) + ((get(x, "diff") as string[])?.length ? ` — differs: ${(get(x, "diff") as string[]).join(", ")}` : "") + (err(x) ? ` — ${err(x)}` : "")],
        ];
  const dm = out.daemon;
  printTable("4. create/delete cycles of a container with a published port: host state before / after", ["", "ms/cycle", "", "result", "counts"], [...churnRows("runtime API", c), ...churnRows("daemon (apply/delete)", get(dm, "churn") ?? dm)]);
  if (dm && !err(dm)) {
    console.log(`\nDaemon: apply --wait of Image + Network + 2 containers ${num(get(dm, "applyStackMs")) ?? "-"} ms; GET 127.0.0.1 published port → ${JSON.stringify(get(dm, "httpToPublishedPort"))}; exec peer nslookup web → ${get(dm, "peerNslookupWeb", "ok") ? "resolves" : `FAILED: ${String(get(dm, "peerNslookupWeb", "output") ?? "").replace(/\s+/g, " ").slice(0, 200)}`}`);
  } else if (err(dm)) console.log(`\nDaemon: failed: ${err(dm)}`);
  const left = (get(out, "cleanup", "leftovers") as string[]) ?? [];
  const others = (get(out, "cleanup", "otherBerthLinksThatAppeared") as string[]) ?? [];
  if (others.length) console.log(`\n(berth links of another root appeared during the run, not this bench's: ${others.join(", ")})`);
  console.log(`\nCleanup: ${left.length ? `LEFT ON THE HOST: ${left.join("; ")}` : "nothing of this bench left (netns, bb/bv links, BTB chains, docker/podman bridges, NETAVARK chains)"}`);
}

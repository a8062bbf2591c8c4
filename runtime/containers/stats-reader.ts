import { execFile } from "../proc/exec-file.js";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import { failedPrecondition } from "../../lib/errors.js";
import type { ContainerDetail, ContainerStatsReading, ContainerTop, HostCounters } from "../types.js";
import { cgroupPids, parseCgroupMounts, readCgroupStats, type CgroupMounts } from "./cgroup-stats.js";
import type { RuntimeContext } from "./context.js";
import { hasOwnNetns, netnsNameOf } from "./netns.js";
import { parseProcStatus } from "./proc-stat.js";
import { stateOf, type ContainerRecord } from "./records.js";
import { containerHostname } from "./spec-builder.js";
import { readHostCounters, readNetDev } from "./stats.js";
import { topOf } from "./top.js";

/**
 * The runtime's inspection readers (`docker top`, `stats`, `inspect`) over one container's
 * record: read-only, no lock taken (a container that exits during a read yields what was
 * read, or FailedPrecondition when nothing could be). Where the cgroup hierarchies are is read
 * once per runtime from /proc/self/mounts.
 */

const mountsOf = new WeakMap<RuntimeContext, Promise<CgroupMounts>>();

function cgroupMounts(ctx: RuntimeContext): Promise<CgroupMounts> {
  let m = mountsOf.get(ctx);
  if (!m) {
    m = fs.readFile("/proc/self/mounts", "utf8").then(parseCgroupMounts);
    mountsOf.set(ctx, m);
  }
  return m;
}

function mustRun(rec: ContainerRecord, verb: string): number {
  if (rec.status !== "running" || rec.pid === undefined) {
    throw failedPrecondition(`${verb} container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
  }
  return rec.pid;
}

const tgidOf = async (tid: number) => parseProcStatus(await fs.readFile(`/proc/${tid}/status`, "utf8").catch(() => ""))?.tgid;

/** `docker top` of a running container: the pids of its cgroup (cgroup.procs, else tasks). */
export async function containerTop(ctx: RuntimeContext, rec: ContainerRecord, psArgs: string[] | undefined): Promise<ContainerTop> {
  mustRun(rec, "top");
  const pids = await cgroupPids(await cgroupMounts(ctx), rec.cgroupsPath, tgidOf);
  return topOf(pids, psArgs);
}

/**
 * One reading: the cgroup's counters and the interfaces of its network namespace (through
 * its init's /proc/<pid>/net/dev; host mode has none of its own). The memory limit of an
 * unlimited container is the host's memory, as moby reports it.
 */
export async function containerStats(ctx: RuntimeContext, rec: ContainerRecord, host?: HostCounters): Promise<ContainerStatsReading> {
  const pid = mustRun(rec, "stats");
  const [h, cg, net] = await Promise.all([
    host ?? readHostCounters(),
    cgroupMounts(ctx).then((m) => readCgroupStats(m, rec.cgroupsPath)),
    rec.spec.networkMode === "host" ? Promise.resolve(undefined) : readNetDev(pid),
  ]);
  if (!cg) throw failedPrecondition(`stats container ${rec.name}: no cgroup hierarchy is mounted on this host`);
  const out: ContainerStatsReading = { id: rec.id, name: rec.name, readAtMs: ctx.clock.now(), pid, cgroupVersion: cg.version };
  if (rec.startedAt) out.startedAt = rec.startedAt;
  if (cg.cpuUsageNs !== undefined) out.cpu = { usageNs: cg.cpuUsageNs, systemNs: h.systemNs, onlineCpus: h.onlineCpus };
  if (cg.memory) {
    const limited = cg.memory.limitBytes !== undefined && cg.memory.limitBytes < h.memTotalBytes;
    out.memory = { usageBytes: cg.memory.usageBytes, cacheBytes: cg.memory.cacheBytes, limitBytes: limited ? cg.memory.limitBytes! : h.memTotalBytes, limited };
  }
  if (net) out.network = net;
  if (cg.blockIo) out.blockIo = cg.blockIo;
  if (cg.pids) out.pids = cg.pids;
  return out;
}

/** The record's facts for `docker inspect`, with the MAC addresses of its own namespace while it runs. */
export async function containerDetail(_ctx: RuntimeContext, rec: ContainerRecord): Promise<ContainerDetail> {
  const out: ContainerDetail = {
    state: stateOf(rec),
    spec: structuredClone(rec.spec),
    imageConfig: structuredClone(rec.imageConfig),
    hostname: hostnameOf(rec),
  };
  if (rec.status === "running" && hasOwnNetns(rec.spec)) {
    const macs = await macAddresses(netnsNameOf(rec.id));
    if (macs) out.macAddresses = macs;
  }
  return out;
}

function hostnameOf(rec: ContainerRecord): string {
  try {
    return containerHostname(rec.id, rec.spec, os.hostname());
  } catch {
    return rec.spec.hostname ?? rec.id.slice(0, 12);
  }
}

/** `ip -j -n NAME link show`: interface → MAC (loopback left out); undefined when ip fails. */
function macAddresses(netns: string): Promise<Record<string, string> | undefined> {
  return new Promise((resolve) => {
    execFile("ip", ["-j", "-n", netns, "link", "show"], { timeout: 5_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        resolve(parseIpLinkJson(String(stdout)));
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** `ip -j link show` output → interface → MAC of its ether links. */
export function parseIpLinkJson(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of JSON.parse(text) as { ifname?: string; link_type?: string; address?: string }[]) {
    if (l.ifname && l.link_type === "ether" && l.address) out[l.ifname] = l.address;
  }
  return out;
}

import { execFile } from "./proc/exec-file.js";
import { accessSync, constants as fsc } from "node:fs";
import { readFile } from "node:fs/promises";
import * as os from "node:os";
import { describeHolder, inspectRootLock, type RootLockHolder } from "../lib/root-lock.js";
import { parseCgroupLayout } from "./containers/cgroups.js";
import { listQuarantinedRecords, type QuarantinedRecord } from "./containers/quarantine.js";

/**
 * `berth doctor`: checks what the embedded runtime needs from the host — root, a kernel
 * with overlayfs, mounted cgroups, runc and conmon — and says exactly what is missing and
 * how to get it on Debian. The checks are pure functions of what the probe read, so they
 * are unit-tested without the host; `runDoctor()` never throws for a missing feature, it
 * reports it.
 */

export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  name: "root" | "kernel" | "overlayfs" | "cgroups" | "runc" | "conmon" | "setfattr" | "root lock" | "quarantine" | "iptables" | "ip_forward" | "br_netfilter";
  status: CheckStatus;
  detail: string;
  /** What to do about it, when status is not ok. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
  /** The iptables rules berth owns (its chains and the jumps into them), per table. */
  firewall?: { table: string; lines: string[] }[];
}

/** The host, as the doctor sees it (injected for tests). */
export interface DoctorProbe {
  uid(): number;
  kernelRelease(): string;
  readFile(file: string): Promise<string | undefined>;
  /** Runs argv; undefined when it cannot be run at all. */
  run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string } | undefined>;
  /** Path of an executable, searching PATH and the sbin dirs. */
  which(cmd: string): string | undefined;
  /** The state root and who holds its lock (lib/root-lock.ts); without it the check is left out. */
  rootLock?(): Promise<{ root: string; holder: RootLockHolder | undefined }>;
  /** Container records the runtime quarantined (runtime/containers/quarantine.ts); without it the check is left out. */
  quarantinedRecords?(): Promise<QuarantinedRecord[]>;
  /** berth's iptables rules (runtime/networks/firewall.ts `rules()`); without it they are not shown. */
  firewallRules?(): Promise<{ table: string; lines: string[] }[]>;
}

export const MIN_KERNEL = "4.18";
export const MIN_RUNC = "1.1.0";
export const MIN_CONMON = "2.0.20";

/** "6.1.0-18-amd64" → [6,1,0]; "1.1.5+ds1" → [1,1,5]. Undefined when no version is found. */
export function parseVersion(text: string): number[] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const atLeast = (v: number[], min: string) => compareVersions(v, parseVersion(min)!) >= 0;

export function checkRoot(uid: number): DoctorCheck {
  return uid === 0
    ? { name: "root", status: "ok", detail: "running as root" }
    : { name: "root", status: "fail", detail: `running as uid ${uid}`, fix: "run berth as root (sudo berth ...); rootless mode is not supported" };
}

export function checkKernel(release: string): DoctorCheck {
  const v = parseVersion(release);
  if (!v) return { name: "kernel", status: "warn", detail: `cannot parse kernel release ${JSON.stringify(release)}` };
  if (compareVersions(v, [3, 18, 0]) < 0) {
    return { name: "kernel", status: "fail", detail: `kernel ${release} has no usable overlayfs`, fix: `upgrade to Linux >= ${MIN_KERNEL} (apt-get install linux-image-amd64)` };
  }
  if (!atLeast(v, MIN_KERNEL)) {
    return { name: "kernel", status: "warn", detail: `kernel ${release} is older than ${MIN_KERNEL}`, fix: `upgrade to Linux >= ${MIN_KERNEL} (apt-get install linux-image-amd64)` };
  }
  return { name: "kernel", status: "ok", detail: `kernel ${release}` };
}

/** From the text of /proc/filesystems (undefined: unreadable). */
export function checkOverlay(filesystems: string | undefined): DoctorCheck {
  if (filesystems !== undefined && /\soverlay$/m.test(filesystems)) return { name: "overlayfs", status: "ok", detail: "overlay in /proc/filesystems" };
  return {
    name: "overlayfs",
    status: "fail",
    detail: "overlay is not in /proc/filesystems",
    fix: "load the module: modprobe overlay (and add 'overlay' to /etc/modules-load.d/berth.conf)",
  };
}

/** From the text of /proc/self/mounts. */
export function checkCgroups(mounts: string | undefined): DoctorCheck {
  const layout = mounts === undefined ? "none" : parseCgroupLayout(mounts);
  switch (layout) {
    case "v2":
      return { name: "cgroups", status: "ok", detail: "cgroup v2 (unified) at /sys/fs/cgroup" };
    case "v1":
      return { name: "cgroups", status: "ok", detail: "cgroup v1 controllers under /sys/fs/cgroup" };
    case "hybrid":
      return { name: "cgroups", status: "ok", detail: "hybrid cgroups (v1 controllers + cgroup2 at unified); runc works here, crun does not" };
    default:
      return {
        name: "cgroups",
        status: "fail",
        detail: "no cgroup hierarchy is mounted",
        fix: "mount cgroups: boot with systemd, or apt-get install cgroupfs-mount",
      };
  }
}

function checkTool(name: "runc" | "conmon", path: string | undefined, output: string | undefined, min: string): DoctorCheck {
  const pkg = `apt-get install ${name}`;
  if (!path) return { name, status: "fail", detail: `${name} not found in PATH, /usr/sbin or /usr/bin`, fix: pkg };
  if (output === undefined) return { name, status: "fail", detail: `${path} --version failed`, fix: `reinstall it: apt-get install --reinstall ${name}` };
  const first = output.split("\n").find((l) => /version/i.test(l)) ?? output.split("\n")[0] ?? "";
  const v = parseVersion(first);
  if (!v) return { name, status: "warn", detail: `${path}: cannot parse version from ${JSON.stringify(first.trim())}` };
  if (!atLeast(v, min)) return { name, status: "fail", detail: `${path} is ${v.join(".")}, older than ${min}`, fix: `upgrade: ${pkg} (from bookworm or newer)` };
  return { name, status: "ok", detail: `${path} ${v.join(".")}` };
}

/** From `runc --version` output ("runc version 1.1.5+ds1\ncommit: ..."). */
export function checkRunc(path: string | undefined, versionOutput: string | undefined): DoctorCheck {
  return checkTool("runc", path, versionOutput, MIN_RUNC);
}

/** From `conmon --version` output ("conmon version 2.1.6\ncommit: ..."). */
export function checkConmon(path: string | undefined, versionOutput: string | undefined): DoctorCheck {
  return checkTool("conmon", path, versionOutput, MIN_CONMON);
}

export function hostProbe(options: { root?: string } = {}): DoctorProbe {
  const root = options.root ?? (process.env.BERTH_ROOT || "/var/lib/berth");
  return {
    rootLock: async () => ({ root, holder: await inspectRootLock(root) }),
    quarantinedRecords: () => listQuarantinedRecords(root),
    firewallRules: async () => {
      const { Firewall } = await import("./networks/firewall.js");
      return new Firewall().rules();
    },
    uid: () => process.getuid?.() ?? -1,
    kernelRelease: () => os.release(),
    readFile: (file) => readFile(file, "utf8").catch(() => undefined),
    run: (cmd, args) =>
      new Promise((resolve) =>
        execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
          if (err && typeof (err as { code?: unknown }).code !== "number") return resolve(undefined);
          resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout: String(stdout), stderr: String(stderr) });
        }),
      ),
    which: (cmd) => {
      const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
      for (const d of dirs) {
        try {
          accessSync(`${d}/${cmd}`, fsc.X_OK);
          return `${d}/${cmd}`;
        } catch {}
      }
      return undefined;
    },
  };
}

async function versionOf(probe: DoctorProbe, path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  const r = await probe.run(path, ["--version"]);
  return r && r.code === 0 ? r.stdout + r.stderr : undefined;
}

/** Bridge networks program berth's chains with iptables (nf_tables or legacy backend). */
export function checkIptables(path: string | undefined, versionOutput: string | undefined): DoctorCheck {
  if (!path) {
    return { name: "iptables", status: "warn", detail: "iptables not found: bridge networks and published ports cannot be made (host and none networking work)", fix: "apt-get install iptables" };
  }
  const backend = /\(([^)]+)\)/.exec(versionOutput ?? "")?.[1];
  if (backend !== "nf_tables" && backend !== "legacy") {
    return { name: "iptables", status: "warn", detail: `${path}: unknown backend (${(versionOutput ?? "no version").trim()})`, fix: "install Debian's iptables (nf_tables backend)" };
  }
  return { name: "iptables", status: "ok", detail: `${(versionOutput ?? "").trim()} at ${path}` };
}

/** Forwarding carries bridge networks' traffic out and published ports in. */
export function checkIpForward(value: string | undefined): DoctorCheck {
  if (value?.trim() === "1") return { name: "ip_forward", status: "ok", detail: "net.ipv4.ip_forward = 1" };
  return {
    name: "ip_forward",
    status: "warn",
    detail: `net.ipv4.ip_forward = ${value?.trim() ?? "unknown"}: containers cannot reach beyond the host and remote clients cannot reach published ports (berth turns it on when it makes a bridge network)`,
    fix: "sysctl -w net.ipv4.ip_forward=1 (and net.ipv4.ip_forward=1 in /etc/sysctl.conf)",
  };
}

/** With br_netfilter loaded, bridged frames pass iptables' FORWARD: berth accepts its own bridges' traffic explicitly. */
export function checkBrNetfilter(value: string | undefined): DoctorCheck {
  if (value === undefined) return { name: "br_netfilter", status: "ok", detail: "not loaded: traffic inside a bridge network is not filtered by iptables" };
  return { name: "br_netfilter", status: "ok", detail: `loaded (bridge-nf-call-iptables = ${value.trim()}): berth's FORWARD accepts keep its bridges working under a DROP policy` };
}

/** setfattr marks opaque directories of image layers (trusted.overlay.opaque). */
export function checkSetfattr(path: string | undefined): DoctorCheck {
  return path
    ? { name: "setfattr", status: "ok", detail: path }
    : {
        name: "setfattr",
        status: "fail",
        detail: "setfattr not found: image layers with opaque directories cannot be unpacked",
        fix: "apt-get install attr",
      };
}

/**
 * Who holds the state root's lock: free, or a process that answered as berth (a daemon, or a
 * CLI working on the images directly). A holder that did not answer as berth keeps every
 * daemon from starting on this root (see lib/root-lock.ts's limits): a warning.
 */
export function checkRootLock(root: string, holder: RootLockHolder | undefined): DoctorCheck {
  if (!holder) return { name: "root lock", status: "ok", detail: `${root}: free` };
  const detail = `${root}: held by ${describeHolder(holder)}`;
  if (holder.owner !== undefined) return { name: "root lock", status: "ok", detail };
  return {
    name: "root lock",
    status: "warn",
    detail,
    fix: holder.pid === undefined ? "find the holder: ss -xlp | grep berth-lock" : `see what it is (ps -o pid,user,args -p ${holder.pid}) and stop it; no berth daemon can start on this root meanwhile`,
  };
}

/**
 * Container records found corrupt and quarantined (the runtime rebuilt or removed their
 * containers): a warning naming how many and where, until the operator deletes them.
 */
export function checkQuarantine(entries: QuarantinedRecord[]): DoctorCheck {
  if (entries.length === 0) return { name: "quarantine", status: "ok", detail: "no quarantined container records" };
  const shown = entries.slice(0, 5).map((e) => `${e.path}${e.outcome ? ` (${e.outcome})` : ""}`);
  if (entries.length > 5) shown.push(`and ${entries.length - 5} more`);
  return {
    name: "quarantine",
    status: "warn",
    detail: `${entries.length} quarantined container record${entries.length === 1 ? "" : "s"}: ${shown.join("; ")}`,
    fix: "each directory holds the bad container.json and quarantine.json (what was wrong, what berth did); keep what you need, then delete the directories",
  };
}

export async function runDoctor(probe: DoctorProbe = hostProbe()): Promise<DoctorReport> {
  const runc = probe.which("runc");
  const conmon = probe.which("conmon");
  const iptables = probe.which("iptables");
  const [filesystems, mounts, runcVersion, conmonVersion, iptablesVersion, ipForward, brNetfilter] = await Promise.all([
    probe.readFile("/proc/filesystems"),
    probe.readFile("/proc/self/mounts"),
    versionOf(probe, runc),
    versionOf(probe, conmon),
    versionOf(probe, iptables),
    probe.readFile("/proc/sys/net/ipv4/ip_forward"),
    probe.readFile("/proc/sys/net/bridge/bridge-nf-call-iptables"),
  ]);
  const checks = [
    checkRoot(probe.uid()),
    checkKernel(probe.kernelRelease()),
    checkOverlay(filesystems),
    checkCgroups(mounts),
    checkRunc(runc, runcVersion),
    checkConmon(conmon, conmonVersion),
    checkSetfattr(probe.which("setfattr")),
    checkIptables(iptables, iptablesVersion),
    checkIpForward(ipForward),
    checkBrNetfilter(brNetfilter),
  ];
  if (probe.rootLock) {
    const { root, holder } = await probe.rootLock();
    checks.push(checkRootLock(root, holder));
  }
  if (probe.quarantinedRecords) checks.push(checkQuarantine(await probe.quarantinedRecords()));
  const report: DoctorReport = { ok: checks.every((c) => c.status !== "fail"), checks };
  if (probe.firewallRules && iptables && probe.uid() === 0) report.firewall = await probe.firewallRules().catch(() => undefined) ?? [];
  return report;
}

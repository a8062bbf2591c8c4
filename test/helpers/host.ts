import { existsSync, readFileSync } from "node:fs";

/**
 * Host feature gates for integration tests. A test that needs a feature calls
 * `requireHost(...)` at the top of its describe: where the feature is missing it is skipped
 * with the reason — except under CI=true, where CI installs everything and a missing
 * feature is a failure.
 */
export type HostFeature = "root" | "runc" | "conmon" | "overlay" | "busybox" | "cgroups" | "docker" | "iptables" | "conntrack" | "docker-registry";

/** True when the ELF file has no PT_INTERP program header (needs no dynamic loader). */
export function isStaticElf(file: string): boolean {
  const b = readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    const p = `${dir}/${cmd}`;
    if (existsSync(p)) return p;
  }
  for (const p of [`/usr/sbin/${cmd}`, `/usr/bin/${cmd}`, `/sbin/${cmd}`, `/bin/${cmd}`]) if (existsSync(p)) return p;
  return undefined;
}

export function missingFeature(feature: HostFeature): string | undefined {
  switch (feature) {
    case "root":
      return process.getuid?.() === 0 ? undefined : "needs root";
    case "runc":
      return which("runc") ? undefined : "needs runc (apt-get install runc)";
    case "conmon":
      return which("conmon") ? undefined : "needs conmon (apt-get install conmon)";
    case "busybox": {
      const p = which("busybox");
      if (!p) return "needs busybox-static (apt-get install busybox-static)";
      return isStaticElf(p) ? undefined : `${p} is not statically linked (apt-get install busybox-static)`;
    }
    case "overlay":
      return readFileSync("/proc/filesystems", "utf8").includes("overlay") ? undefined : "needs overlayfs in the kernel";
    case "cgroups":
      return existsSync("/sys/fs/cgroup") ? undefined : "needs cgroups mounted at /sys/fs/cgroup";
    case "iptables":
      return which("iptables") && which("iptables-restore") ? undefined : "needs iptables (apt-get install iptables)";
    case "conntrack":
      return which("conntrack") ? undefined : "needs conntrack (apt-get install conntrack)";
    case "docker-registry":
      // Debian's distribution 2.8 registry (tests start their own on 127.0.0.1, see test/helpers/registry.ts).
      return which("docker-registry") ? undefined : "needs docker-registry (apt-get install docker-registry)";
    case "docker":
      // The Docker engine itself (a private one is started per test file), not just a CLI.
      return which("dockerd") ? undefined : "needs dockerd (apt-get install docker.io)";
  }
}

/**
 * Returns the reasons the host lacks these features (empty when it has them all). Under
 * CI=true a missing feature throws, so the suite fails instead of silently skipping.
 */
export function hostLacks(...features: HostFeature[]): string | undefined {
  const missing = features.map(missingFeature).filter((x): x is string => !!x);
  if (missing.length === 0) return undefined;
  const reason = missing.join("; ");
  if (process.env.CI === "true") throw new Error(`CI=true but the host ${reason}: .ci/run must install it`);
  return reason;
}

/**
 * `berth info` and the daemon's half of `berth version`: facts about the host, the runtime's
 * components, cgroups, storage, what berth has, the registry settings and warnings. The
 * warnings are `berth doctor`'s checks (runtime/doctor.ts) that are not ok, so both say the
 * same thing the same way. Nothing here changes anything; a fact that cannot be read is left
 * out or said in a warning, never guessed.
 */
import { execFile } from "../../../runtime/proc/exec-file.js";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseCgroupLayout } from "../../../runtime/containers/cgroups.js";
import { hostProbe, parseVersion, runDoctor } from "../../../runtime/doctor.js";
import { defaultRegistryFiles } from "../../../runtime/registry/default-files.js";
import { readRegistrySettings } from "../../../runtime/registry/settings.js";
import type { ReconcilerDeps } from "../../reconcilers/context.js";
import type { SystemInfo } from "../protocol.js";

export interface InfoContext {
  deps: ReconcilerDeps;
  version: string;
  root: string;
  runRoot: string;
  startedAtMs: number;
  /** The daemon's registry settings file; default as the daemon finds it without --config (BERTH_CONFIG, else /etc/berth/daemon.json). */
  registrySettingsFile?: string;
}

/** `runc --version` / `conmon --version`: the first version number of its output. */
export function componentVersionOf(output: string | undefined): string | undefined {
  if (!output) return undefined;
  const m = /version\s+(\S+)/i.exec(output);
  if (m) return m[1];
  const v = parseVersion(output);
  return v ? v.join(".") : undefined;
}

/** PRETTY_NAME of an os-release text. */
export function prettyOsName(text: string | undefined): string | undefined {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text ?? "");
  return m ? m[1]!.replace(/^"(.*)"$/, "$1") : undefined;
}

/** `du -sxB1` output lines (`bytes\tdir`) → dir → bytes. */
export function parseDu(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\d+)\t(.+)$/.exec(line);
    if (m) out[m[2]!] = Number(m[1]);
  }
  return out;
}

const probe = hostProbe();

async function component(cmd: string): Promise<{ path?: string; version?: string }> {
  const p = probe.which(cmd);
  if (!p) return {};
  const r = await probe.run(p, ["--version"]);
  const version = r && r.code === 0 ? componentVersionOf(r.stdout + r.stderr) : undefined;
  return { path: p, ...(version ? { version } : {}) };
}

export async function componentVersions(): Promise<{ runc?: string; conmon?: string }> {
  const [runc, conmon] = await Promise.all([component("runc"), component("conmon")]);
  return { ...(runc.version ? { runc: runc.version } : {}), ...(conmon.version ? { conmon: conmon.version } : {}) };
}

/** Disk use of the state directory's parts, one `du` (hard links counted once); undefined when du fails. */
function diskUse(root: string): Promise<NonNullable<SystemInfo["storage"]["usage"]> | undefined> {
  const dirs = { imagesBytes: "blobs", layersBytes: "snapshots", containersBytes: "containers", volumesBytes: "volumes" } as const;
  const paths = Object.values(dirs).map((d) => path.join(root, d));
  return new Promise((resolve) => {
    execFile("du", ["-s", "-x", "-B1", "--", ...paths], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      // du exits 1 for a part that does not exist (yet) and still measures the others; not
      // there at all, or killed by the timeout, it measured nothing
      if (err && (typeof (err as NodeJS.ErrnoException).code === "string" || err.killed)) return resolve(undefined);
      const got = parseDu(String(stdout ?? ""));
      const out = { imagesBytes: 0, layersBytes: 0, containersBytes: 0, volumesBytes: 0 };
      for (const [k, d] of Object.entries(dirs)) out[k as keyof typeof out] = got[path.join(root, d)] ?? 0;
      resolve(out);
    });
  });
}

export async function gatherInfo(ctx: InfoContext, options: { usage: boolean }): Promise<SystemInfo> {
  const { deps } = ctx;
  const rt = deps.runtime;
  const mounts = await fs.readFile("/proc/self/mounts", "utf8").catch(() => "");
  const layout = parseCgroupLayout(mounts);
  const settingsFile = ctx.registrySettingsFile ?? defaultRegistryFiles(ctx.root).settingsFile;
  const [runc, conmon, osRelease, containers, images, volumes, networks, doctor, settings, usage] = await Promise.all([
    component("runc"),
    component("conmon"),
    fs.readFile("/etc/os-release", "utf8").catch(() => undefined),
    rt.containers.list(),
    rt.images.list(),
    rt.volumes.list(),
    rt.networks.list(),
    runDoctor({ ...probe, rootLock: undefined, quarantinedRecords: undefined, firewallRules: undefined }),
    readRegistrySettings(settingsFile).then(
      (s) => ({ settings: s, error: undefined as string | undefined }),
      (err: Error) => ({ settings: undefined, error: err.message }),
    ),
    options.usage ? diskUse(ctx.root) : Promise.resolve(undefined),
  ]);
  const running = containers.filter((c) => c.status === "running").length;
  const warnings = doctor.checks.filter((c) => c.status !== "ok").map((c) => `${c.name}: ${c.detail}${c.fix ? ` (${c.fix})` : ""}`);
  if (settings.error) warnings.push(`registry settings ${settingsFile}: ${settings.error}`);
  if (options.usage && !usage) warnings.push(`disk use of ${ctx.root} could not be measured (du failed)`);
  const s = settings.settings;
  const info: SystemInfo = {
    daemon: { version: ctx.version, pid: process.pid, startedAt: new Date(ctx.startedAtMs).toISOString(), apiVersion: "v1" },
    host: {
      hostname: os.hostname(),
      kernel: os.release(),
      os: prettyOsName(osRelease) ?? os.type(),
      osType: os.platform(),
      architecture: os.arch(),
      cpus: os.cpus().length,
      memoryBytes: os.totalmem(),
    },
    runtime: { runc, conmon },
    cgroup: { version: layout === "v2" ? "2" : layout === "none" ? "none" : "1", layout, driver: "cgroupfs" },
    storage: { root: ctx.root, runRoot: ctx.runRoot, driver: "overlay", ...(usage ? { usage } : {}) },
    counts: { containers: containers.length, running, stopped: containers.length - running, images: images.length, volumes: volumes.length, networks: networks.length },
    registries: { settingsFile, registryMirrors: s?.registryMirrors ?? [], mirrors: s?.mirrors ?? {}, insecureRegistries: s?.insecureRegistries ?? [] },
    warnings,
  };
  return info;
}

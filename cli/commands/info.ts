import { stringify } from "yaml";
import type { SystemInfo } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { bytesSize } from "./stats.js";

/** `berth info`, as `docker info`: the daemon's host, runtime, cgroups, storage, counts, registries and warnings. */
export async function runInfo(ctx: CommandContext, opts: { output?: string; usage?: boolean } = {}): Promise<number> {
  const output = opts.output ?? "text";
  if (!["text", "json", "yaml"].includes(output)) throw new UsageError(`invalid output format ${JSON.stringify(output)}: use json or yaml`);
  const info = await ctx.client.info({ usage: opts.usage !== false });
  if (output === "json") ctx.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else if (output === "yaml") ctx.stdout.write(stringify(info, { lineWidth: 0 }));
  else {
    ctx.stdout.write(formatInfo(info));
    for (const w of info.warnings) ctx.stderr.write(`WARNING: ${w}\n`);
  }
  return 0;
}

/** Docker's `docker info` layout: `Key: value` lines, nested ones indented. */
export function formatInfo(i: SystemInfo): string {
  const lines: string[] = [];
  const kv = (indent: number, k: string, v: string | number) => lines.push(`${" ".repeat(indent)}${k}: ${v}`);
  kv(0, "Server Version", i.daemon.version);
  kv(0, "API Version", i.daemon.apiVersion);
  kv(0, "Containers", i.counts.containers);
  kv(1, "Running", i.counts.running);
  kv(1, "Stopped", i.counts.stopped);
  kv(0, "Images", i.counts.images);
  kv(0, "Volumes", i.counts.volumes);
  kv(0, "Networks", i.counts.networks);
  kv(0, "Storage Driver", i.storage.driver);
  kv(1, "Root Dir", i.storage.root);
  kv(1, "Run Root", i.storage.runRoot);
  if (i.storage.usage) {
    const u = i.storage.usage;
    kv(1, "Images (content)", bytesSize(u.imagesBytes));
    kv(1, "Layers (unpacked, writable)", bytesSize(u.layersBytes));
    kv(1, "Containers (records, logs)", bytesSize(u.containersBytes));
    kv(1, "Volumes", bytesSize(u.volumesBytes));
  }
  kv(0, "Cgroup Driver", i.cgroup.driver);
  kv(0, "Cgroup Version", `${i.cgroup.version}${i.cgroup.layout === "hybrid" ? " (hybrid)" : ""}`);
  kv(0, "Runtime", "runc");
  kv(1, "runc", `${i.runtime.runc.version ?? "unknown"}${i.runtime.runc.path ? ` (${i.runtime.runc.path})` : " (not found)"}`);
  kv(1, "conmon", `${i.runtime.conmon.version ?? "unknown"}${i.runtime.conmon.path ? ` (${i.runtime.conmon.path})` : " (not found)"}`);
  kv(0, "Kernel Version", i.host.kernel);
  kv(0, "Operating System", i.host.os);
  kv(0, "OSType", i.host.osType);
  kv(0, "Architecture", i.host.architecture);
  kv(0, "CPUs", i.host.cpus);
  kv(0, "Total Memory", bytesSize(i.host.memoryBytes));
  kv(0, "Name", i.host.hostname);
  kv(0, "Registry Settings", i.registries.settingsFile);
  if (i.registries.insecureRegistries.length) {
    lines.push("Insecure Registries:");
    for (const r of i.registries.insecureRegistries) lines.push(` ${r}`);
  }
  const mirrors = [...i.registries.registryMirrors.map((m) => ["docker.io", m]), ...Object.entries(i.registries.mirrors).flatMap(([reg, ms]) => ms.map((m) => [reg, m]))];
  if (mirrors.length) {
    lines.push("Registry Mirrors:");
    for (const [reg, m] of mirrors) lines.push(` ${m} (${reg})`);
  }
  return `${lines.join("\n")}\n`;
}

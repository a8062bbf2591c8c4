import pino from "pino";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { startDaemon } from "../../controller/daemon.js";
import { existsSync } from "node:fs";
import { parseCidr } from "../../runtime/networks/cidr.js";
import { startSpawnHelper, stopSpawnHelper } from "../../runtime/proc/exec-file.js";
import { defaultRegistryFiles } from "../../runtime/registry/default-files.js";
import * as path from "node:path";
import { UsageError } from "../errors.js";
import { checkStackName, defaultStackName } from "../manifest-args.js";
import type { GlobalOptions } from "../local.js";

export function berthVersion(): string {
  return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** A group name as shadow-utils accepts it (useradd's NAME_REGEX, plus upper case). */
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/**
 * The gid of a group named in `groupFile` (/etc/group: `name:password:gid:members`). Throws
 * UsageError naming the group when the name is not valid or no such group is listed there.
 */
export async function resolveGroup(name: string, groupFile = "/etc/group"): Promise<{ name: string; gid: number }> {
  if (!GROUP_NAME.test(name)) throw new UsageError(`daemon --group ${JSON.stringify(name)}: not a valid group name`);
  const text = await readFile(groupFile, "utf8").catch((err: Error) => {
    throw new UsageError(`daemon --group ${name}: cannot read ${groupFile}: ${err.message}`);
  });
  for (const line of text.split("\n")) {
    const [n, , gid] = line.split(":");
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return { name, gid: Number(gid) };
  }
  throw new UsageError(`daemon --group ${name}: no such group in ${groupFile}`);
}

/**
 * `berth daemon`: runs the controller in the foreground with pino JSON logs on stdout until
 * SIGTERM or SIGINT; then stops serving and leaves the containers running. With `group`, that
 * group's members may use the API socket (see DaemonOptions.group); an unknown group is a
 * UsageError before anything is opened.
 */
export async function runDaemon(
  g: GlobalOptions & { socket?: string },
  opts: { logLevel: string; allowPrivileged: boolean; allowHostBinds?: boolean; cgroupParent?: string; group?: string; addressPool?: string[]; config?: string; watch?: string[] },
): Promise<number> {
  const watch = opts.watch?.map(parseWatchArg);
  // a settings file named on purpose must exist (the default one may not: then the defaults hold)
  if (opts.config !== undefined && !existsSync(opts.config)) throw new UsageError(`daemon --config ${opts.config}: no such file`);
  const registry = defaultRegistryFiles(g.root, opts.config);
  const group = opts.group === undefined ? undefined : await resolveGroup(opts.group);
  const addressPools = opts.addressPool?.map(parseAddressPool);
  const logger = pino({ level: opts.logLevel, base: { pid: process.pid } });
  // Forks happen in a small helper from now on, not in this process as it grows (exec-file.ts).
  const helperPid = startSpawnHelper();
  logger.debug({ helperPid: helperPid ?? null }, helperPid ? "spawn helper started" : "no spawn helper: programs are forked in-process");
  const daemon = await startDaemon({
    root: g.root,
    runRoot: g.runRoot,
    ...(g.socket ? { socketPath: g.socket } : {}),
    logger,
    version: berthVersion(),
    allowPrivileged: opts.allowPrivileged,
    allowHostBinds: !!opts.allowHostBinds,
    ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
    ...(group ? { group } : {}),
    ...(addressPools ? { addressPools } : {}),
    ...(watch ? { watch } : {}),
    registry,
  });
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, "stopping");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  await daemon.stop();
  stopSpawnHelper();
  return 0;
}

/** `10.90.0.0/16:24` → a pool of /24s in 10.90.0.0/16 (UsageError otherwise). */
export function parseAddressPool(text: string): { base: string; size: number } {
  const m = /^([0-9.]+\/[0-9]{1,2}):([0-9]{1,2})$/.exec(text);
  if (!m) throw new UsageError(`invalid --address-pool ${JSON.stringify(text)}: expected a block and the prefix length of each network, like 10.90.0.0/16:24`);
  try {
    const c = parseCidr(m[1]!);
    const size = Number(m[2]);
    if (size < c.prefix || size > 30) throw new UsageError(`invalid --address-pool ${text}: the network size /${size} must be between /${c.prefix} and /30`);
    return { base: m[1]!, size };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`invalid --address-pool ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** `--watch DIR[=STACK]` → the absolute directory and its stack (default the directory's name). */
export function parseWatchArg(text: string): { dir: string; stack: string } {
  const i = text.lastIndexOf("=");
  const dir = path.resolve(i > 0 ? text.slice(0, i) : text);
  const given = i > 0 ? text.slice(i + 1) : undefined;
  try {
    return { dir, stack: given !== undefined ? checkStackName(given) : defaultStackName(dir, true) };
  } catch (err) {
    throw new UsageError(`daemon --watch ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

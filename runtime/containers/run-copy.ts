import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import type { RuntimeContext } from "./context.js";
import { identityProblem, type RecordIdentity } from "./record-shape.js";
import type { ContainerRecord } from "./records.js";
import { RECORD_ANNOTATION } from "./spec-builder.js";

/**
 * The run copy: `<root>/containers/<id>/run/` holds a copy of the current run's runc state
 * (`runc-state.json`, runc's own `<runRoot>/runc/<id>/state.json`) and OCI config
 * (`config.json`, the bundle's), taken right after `runc start` (start.ts). The run-root
 * is a tmpfs that can be emptied under running containers (systemd's `RuntimeDirectory=`
 * cleanup, a manual `rm -rf`); the copy lets the runtime give runc its state back
 * (`restoreRunState`, adoption.ts) and rebuild a corrupt record from the config's
 * annotation (`readIdentity`, record-repair.ts).
 *
 * Written without fsync: it only means anything in the boot that wrote it (after a reboot
 * no process it names is alive), and page cache lives as long as that boot. Replaced by a
 * rename, so a reader never sees half a copy. A stale copy is harmless: restoring checks
 * runc's init pid and start time against the record, and the identity never changes.
 */

const RUNC_STATE = "runc-state.json";
const CONFIG = "config.json";

export function runCopyDir(ctx: RuntimeContext, id: string): string {
  return path.join(ctx.records.containerDir(id), "run");
}

async function writeVolatile(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await fs.writeFile(tmp, data, { mode: 0o600 });
  await fs.rename(tmp, file).catch(async (err) => {
    await fs.rm(tmp, { force: true });
    throw err;
  });
}

/** Copies runc's state and the bundle's config.json of the running container `id`. */
export async function saveRunCopy(ctx: RuntimeContext, id: string): Promise<void> {
  const dir = runCopyDir(ctx, id);
  const [state, config] = await Promise.all([
    fs.readFile(path.join(ctx.runc.root, id, "state.json")),
    fs.readFile(path.join(ctx.bundleDir(id), "config.json")),
    fs.mkdir(dir, { recursive: true, mode: 0o700 }),
  ]);
  await Promise.all([writeVolatile(path.join(dir, RUNC_STATE), state), writeVolatile(path.join(dir, CONFIG), config)]);
}

/** The init pid and its start time (clock ticks, as /proc/<pid>/stat field 22) in the copied runc state. */
export async function copiedInit(ctx: RuntimeContext, id: string): Promise<{ pid: number; startTime: string } | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(path.join(runCopyDir(ctx, id), RUNC_STATE), "utf8")) as { init_process_pid?: unknown; init_process_start?: unknown };
    if (!Number.isSafeInteger(s.init_process_pid) || (s.init_process_pid as number) <= 0) return undefined;
    if (typeof s.init_process_start !== "number" && typeof s.init_process_start !== "string") return undefined;
    return { pid: s.init_process_pid as number, startTime: String(s.init_process_start) };
  } catch {
    return undefined;
  }
}

/**
 * Gives runc back the state of running container `rec` lost with the run-root: writes the
 * copied `state.json` into runc's root and a bundle (config.json, pid files, persist dir)
 * where it was, once the copy names the record's init (same pid and start time). True when
 * `runc state` then reports it running with that pid; otherwise undoes what it wrote.
 * Caller holds the container's lock and has checked that the init and conmon are alive.
 */
export async function restoreRunState(ctx: RuntimeContext, rec: ContainerRecord): Promise<boolean> {
  const { id } = rec;
  const init = await copiedInit(ctx, id);
  if (!init || init.pid !== rec.pid || init.startTime !== rec.pidStartTime) return false;
  const runDir = runCopyDir(ctx, id);
  const stateDir = path.join(ctx.runc.root, id);
  const bundle = ctx.bundleDir(id);
  try {
    const [state, config] = await Promise.all([fs.readFile(path.join(runDir, RUNC_STATE)), fs.readFile(path.join(runDir, CONFIG))]);
    await fs.mkdir(ctx.runc.root, { recursive: true, mode: 0o700 });
    await fs.mkdir(stateDir, { recursive: true, mode: 0o711 });
    await writeFileAtomic(path.join(stateDir, "state.json"), state, { mode: 0o600 });
    await fs.mkdir(path.join(bundle, "persist"), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(bundle, "config.json"), config, { mode: 0o600 });
    await writeFileAtomic(path.join(bundle, "pidfile"), String(rec.pid), { mode: 0o600 });
    if (rec.conmonPid) await writeFileAtomic(path.join(bundle, "conmon.pid"), String(rec.conmonPid), { mode: 0o600 });
    const st = await ctx.runc.state(id);
    if (st?.status === "running" && st.pid === rec.pid) return true;
  } catch {
    // fall through: not restorable
  }
  await fs.rm(stateDir, { recursive: true, force: true });
  await fs.rm(bundle, { recursive: true, force: true });
  return false;
}

/**
 * The fixed part of container `id`'s record as its last run's OCI config carries it
 * (spec-builder.ts's RECORD_ANNOTATION): from the bundle in the run-root, else from the run
 * copy. Undefined when neither has one of the right shape (never started, or both lost).
 */
export async function readIdentity(ctx: RuntimeContext, id: string): Promise<RecordIdentity | undefined> {
  for (const file of [path.join(ctx.bundleDir(id), "config.json"), path.join(runCopyDir(ctx, id), CONFIG)]) {
    try {
      const config = JSON.parse(await fs.readFile(file, "utf8")) as { annotations?: Record<string, unknown> };
      const text = config.annotations?.[RECORD_ANNOTATION];
      if (typeof text !== "string") continue;
      const identity = JSON.parse(text) as unknown;
      if (!identityProblem(identity, id)) return identity as RecordIdentity;
    } catch {
      // missing or unreadable: try the next
    }
  }
  return undefined;
}

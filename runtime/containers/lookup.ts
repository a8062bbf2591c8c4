import { notFound } from "../../lib/errors.js";
import { ID_RE, isValidName } from "../../lib/names.js";
import { pathExists, type RuntimeContext } from "./context.js";
import { finalizeLocked } from "./exits.js";
import { repairRecordLocked } from "./record-repair.js";
import type { ContainerRecord } from "./records.js";

/**
 * The lookups every public operation starts with. They take the record as it is on disk,
 * repairing a corrupt one first (record-repair.ts, under the container's lock), so no
 * operation fails on a bad record; and `currentRecord` applies any exit conmon already
 * wrote. Callers hold no lock.
 */

/** The record of `id`, a corrupt one repaired first; undefined when there is none (or it was removed). */
export async function recordOrRepair(ctx: RuntimeContext, id: string): Promise<ContainerRecord | undefined> {
  const r = await ctx.records.read(id);
  if (r.state === "ok") return r.record;
  if (r.state === "missing") return undefined;
  return ctx.lock.run(id, () => repairRecordLocked(ctx, id));
}

/** Every record, corrupt ones repaired first (one that cannot be repaired now is left out, and retried). */
export async function allRecords(ctx: RuntimeContext): Promise<ContainerRecord[]> {
  const { records, corrupt } = await ctx.records.scan();
  for (const id of corrupt) {
    const r = await ctx.lock.run(id, () => repairRecordLocked(ctx, id)).catch((err: unknown) => {
      ctx.log.warn({ container: id, err }, "repair of a corrupt container record failed; retried later");
      return undefined;
    });
    if (r) records.push(r);
  }
  return records;
}

/** The id of a container given by full id, name or unique id prefix (12+ chars); NotFound otherwise. */
export async function resolveId(ctx: RuntimeContext, idOrName: string, verb: string): Promise<string> {
  if (typeof idOrName === "string" && ID_RE.test(idOrName) && (await recordOrRepair(ctx, idOrName))) return idOrName;
  if (isValidName(idOrName)) {
    const id = await ctx.records.idOfName(idOrName);
    if (id && (await recordOrRepair(ctx, id))) return id;
  }
  if (typeof idOrName === "string" && /^[a-f0-9]{12,63}$/.test(idOrName)) {
    const matches = (await allRecords(ctx)).filter((r) => r.id.startsWith(idOrName));
    if (matches.length === 1) return matches[0]!.id;
  }
  throw notFound(`${verb} container ${idOrName}: not found`, { object: { kind: "container", name: String(idOrName) } });
}

/** The record with any exit already written by conmon applied. NotFound when there is none; Unavailable when it turned corrupt since. */
export async function currentRecord(ctx: RuntimeContext, id: string): Promise<ContainerRecord> {
  const rec = await ctx.records.mustLoad(id);
  if (rec.status === "running" && (await pathExists(ctx.exitFile(id)))) {
    return (await ctx.lock.run(id, () => finalizeLocked(ctx, id))) ?? rec;
  }
  return rec;
}

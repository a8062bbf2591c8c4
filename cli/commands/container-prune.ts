/**
 * `berth container prune`: Docker's "remove all stopped containers", where every berth
 * container is a desired object. What it removes is exactly (`containersToPrune`, pure):
 *
 * - a Container object made imperatively — in the `run` stack (`berth run`'s unless --stack),
 *   or annotated `berth.dev/created-by: run` (a `berth run --stack S`); objects applied from
 *   manifests, Compose files or GitOps sources are never pruned here: their files want them,
 *   and the next apply would make them again;
 * - that has exited and that berth will not start again: phase Failed (its restart policy gave
 *   up), or phase Exited with restart policy `no`, or `on-failure` after exit code 0. An
 *   `always` or `unless-stopped` container is left even when stopped: berth starts `always`
 *   ones again at its next start, as Docker does;
 * - matching the filters: `label=K[=V]`, `label!=K[=V]`, `until=T` (its object created before T).
 *
 * Each is deleted as `berth delete container` deletes it (`DELETE /v1/containers/{name}`).
 */
import type { ContainerStatusView, ObjectView } from "../../controller/api/protocol.js";
import { STORE_ANNOTATIONS } from "../../controller/api/local-stores.js";
import type { CommandContext } from "../client.js";
import { confirm, labelMatches, matchesAll, parseFilters, parseUntil, removeForPrune, type Filter } from "./store-args.js";

/** The stack of containers made by `berth run` (unless its --stack). */
export const RUN_STACK = "run";

export function isImperative(v: ObjectView): boolean {
  return v.metadata.stack === RUN_STACK || v.metadata.annotations[STORE_ANNOTATIONS.createdBy] === "run";
}

/** Whether berth is done with the container: it exited and its policy will not start it again. */
export function exitedForGood(v: ObjectView): boolean {
  const s = v.status as ContainerStatusView;
  if (s.reason === "Terminating") return false;
  if (s.phase === "Failed") return true;
  if (s.phase !== "Exited" || s.nextRestartAt !== undefined) return false;
  const policy = ((v.spec ?? {}) as { restartPolicy?: { name?: string } }).restartPolicy?.name ?? "no";
  if (policy === "no") return true;
  if (policy === "on-failure") return s.exitCode === 0;
  return false;
}

export function containersToPrune(views: ObjectView[], filters: Filter[], now: number): ObjectView[] {
  return views.filter(
    (v) =>
      v.kind === "Container" &&
      isImperative(v) &&
      exitedForGood(v) &&
      matchesAll(filters, (f) => (f.key === "label" ? labelMatches(v.metadata.labels, f) : f.key === "until" ? Date.parse(v.metadata.createdAt) < parseUntil(f.value, now) : false)),
  );
}

export async function containerPrune(ctx: CommandContext, o: { force: boolean; filter: string[] }): Promise<number> {
  const filters = parseFilters(o.filter, ["label", "until"], ["label"]);
  if (!o.force && !(await confirm(ctx, "berth container prune", `WARNING! This will remove all stopped containers made by berth run (stack ${RUN_STACK}) that will not restart.`))) return 0;
  const chosen = containersToPrune(await ctx.client.list("Container", {}), filters, ctx.clock.now());
  return removeForPrune(ctx, chosen.map((v) => v.metadata.name), (name) => ctx.client.delete("Container", name), "Containers");
}

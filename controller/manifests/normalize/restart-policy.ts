import type { ContainerSpecInput } from "../../../schemas/index.js";
import { DEFAULTS, type RestartPolicy, type RestartPolicyName } from "../model.js";
import { specPath, type Problems } from "../problems.js";
import { durationMs } from "./scalars.js";

/** A container's `restartPolicy`, `name[:maxRetries]` or the long form with its backoff; `no` when absent. */
export function normalizeRestart(r: ContainerSpecInput["restartPolicy"], p: Problems): RestartPolicy {
  const backoff: RestartPolicy["backoff"] = { ...DEFAULTS.restartBackoff };
  if (r === undefined) return { name: "no", maxRetries: 0, backoff };
  if (typeof r === "string") {
    const [name, n] = r.split(":") as [RestartPolicyName, string | undefined];
    return { name, maxRetries: n === undefined ? 0 : Number(n), backoff };
  }
  if (r.maxRetries !== undefined && r.name !== "on-failure") {
    p.add(specPath("restartPolicy", "maxRetries"), `maxRetries applies only to on-failure, not ${r.name}`);
  }
  if (r.backoff) {
    backoff.initialMs = durationMs(r.backoff.initial, backoff.initialMs);
    backoff.maxMs = durationMs(r.backoff.max, backoff.maxMs);
    backoff.resetAfterMs = durationMs(r.backoff.resetAfter, backoff.resetAfterMs);
    if (backoff.initialMs <= 0) p.add(specPath("restartPolicy", "backoff", "initial"), "expected a delay greater than 0");
    if (backoff.maxMs < backoff.initialMs) p.add(specPath("restartPolicy", "backoff", "max"), "expected max to be at least initial");
  }
  return { name: r.name, maxRetries: r.maxRetries ?? 0, backoff };
}

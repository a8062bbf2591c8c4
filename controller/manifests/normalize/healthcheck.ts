import type { HealthcheckInput, HealthCheckSpecInput } from "../../../schemas/index.js";
import { DEFAULTS, type Healthcheck, type HealthCheckSpec, type Probe } from "../model.js";
import { specPath, type Problems, type Seg } from "../problems.js";
import { durationMs } from "./scalars.js";

/**
 * A healthcheck (a container's `healthcheck`, or the check of a HealthCheck object) with
 * Docker's defaults: exactly one probe, and intervals of at least 1ms.
 */
export function normalizeHealthcheck(h: HealthcheckInput, at: Seg, p: Problems): Healthcheck | undefined {
  const probes = (["exec", "shell", "http", "tcp"] as const).filter((k) => h[k] !== undefined);
  if (probes.length !== 1) {
    p.add(at, probes.length === 0 ? "exactly one of exec, shell, http or tcp is required" : `only one of exec, shell, http or tcp may be set, found ${probes.join(" and ")}`,
      probes.length === 0 ? "or set disable: true" : undefined);
    return undefined;
  }
  let probe: Probe;
  if (h.exec) probe = { type: "exec", argv: h.exec };
  else if (h.shell) probe = { type: "shell", command: h.shell };
  else if (h.http) probe = { type: "http", path: h.http.path ?? "/", port: h.http.port, scheme: h.http.scheme ?? "http", headers: { ...(h.http.headers ?? {}) } };
  else probe = { type: "tcp", port: h.tcp!.port };
  const d = DEFAULTS.healthcheck;
  const hc: Healthcheck = {
    probe,
    intervalMs: durationMs(h.interval, d.intervalMs),
    timeoutMs: durationMs(h.timeout, d.timeoutMs),
    retries: h.retries ?? d.retries,
    startPeriodMs: durationMs(h.startPeriod, d.startPeriodMs),
    startIntervalMs: durationMs(h.startInterval, d.startIntervalMs),
  };
  for (const f of ["interval", "timeout", "startInterval"] as const) {
    const key = `${f}Ms` as "intervalMs" | "timeoutMs" | "startIntervalMs";
    if (hc[key] < 1) p.add([...at, f], `expected a duration of at least 1ms, got ${JSON.stringify(h[f])}`);
  }
  return hc;
}

/** The spec of a HealthCheck object: a target (a name or a non-empty selector) and its check. */
export function normalizeHealthCheck(s: HealthCheckSpecInput, p: Problems): HealthCheckSpec | undefined {
  const t = s.target;
  let target: HealthCheckSpec["target"] | undefined;
  if ((t.name === undefined) === (t.selector === undefined)) {
    p.add(specPath("target"), "exactly one of name or selector is required");
  } else if (t.name) target = { name: t.name };
  else {
    if (Object.keys(t.selector!.matchLabels).length === 0) p.add(specPath("target", "selector", "matchLabels"), "an empty selector would match every container", "name at least one label");
    target = { selector: { matchLabels: { ...t.selector!.matchLabels } } };
  }
  if (s.disable) p.add(specPath("disable"), "a HealthCheck object cannot be disabled", "delete the object, or set healthcheck.disable on the container");
  const check = normalizeHealthcheck(s, ["spec"], p);
  if (!target || !check) return undefined;
  return { target, check, ...(s.onUnhealthy ? { onUnhealthy: s.onUnhealthy } : {}) };
}

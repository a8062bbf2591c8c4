/**
 * Pure formatting of objects for `berth get`, `describe`, `wait` and `apply --wait`: docker-ps
 * STATUS strings, kubectl RESTARTS and AGE columns, and the tables. Every function takes
 * `now` (epoch ms) so tests pin time.
 */
import type { ContainerStatusView, GenericStatusView, ObjectView } from "../controller/api/protocol.js";
import { KIND_NAMES, KINDS, type Kind } from "../schemas/kinds.js";
import { formatTable, humanAgo, humanDuration } from "./table.js";

/** `container/web` from a kind (`Container`, `container`) and a name. */
export function objectRef(kind: string, name: string): string {
  return `${kind.toLowerCase()}/${name}`;
}

/**
 * kubectl's age form (k8s.io/apimachinery duration.HumanDuration): `45s`, `2m30s`, `3m`,
 * `2h15m`, `20h`, `4d3h`, `30d`, `2y10d`. Slightly negative (clock skew) reads `0s`.
 */
export function shortDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const years = Math.trunc(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const d = Math.trunc(hours / 24) % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Age of a timestamp in kubectl's form; `<unknown>` when it does not parse. */
export function age(time: string | undefined, now: number): string {
  const t = time ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? "<unknown>" : shortDuration(now - t);
}

export function isContainerStatus(view: ObjectView): view is ObjectView & { status: ContainerStatusView } {
  return view.kind === "Container";
}

const HEALTH_SUFFIX: Record<ContainerStatusView["health"], string> = {
  none: "",
  starting: " (health: starting)",
  healthy: " (healthy)",
  unhealthy: " (unhealthy)",
};

/**
 * docker ps's STATUS: `Up 3 minutes (healthy)`, `Restarting (1) 5 seconds ago`,
 * `Exited (0) About a minute ago`, `Created`, and berth's `Pending: <reason>`, `Failed: <reason>`.
 * A container the kernel OOM-killed, and that stays down (restart policy no, or the restarts
 * given up on), reads `OOMKilled (137) 5 seconds ago`: docker's form with kubectl's word.
 */
export function containerStatusText(s: ContainerStatusView, now: number): string {
  const since = (t: string | undefined) => {
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? "" : ` ${humanAgo(ms, now)}`;
  };
  const code = s.exitCode === undefined ? "" : ` (${s.exitCode})`;
  if (s.reason === "Terminating") return "Terminating"; // deleted, being stopped and removed (kubectl)
  if (isOomKilledDown(s)) return `OOMKilled${code}${since(s.finishedAt)}`;
  switch (s.phase) {
    case "Running": {
      const started = s.startedAt ? Date.parse(s.startedAt) : NaN;
      return `Up${Number.isNaN(started) ? "" : ` ${humanDuration(now - started)}`}${HEALTH_SUFFIX[s.health] ?? ""}`;
    }
    case "Restarting":
      return `Restarting${code}${since(s.finishedAt)}`;
    case "Exited":
      return `Exited${code}${since(s.finishedAt)}`;
    case "Failed":
      return s.reason ? `Failed: ${s.reason}` : "Failed";
    case "Pending":
    default:
      if (s.reason) return `Pending: ${s.reason}`;
      return s.containerId ? "Created" : "Pending";
  }
}

/** Ended by the OOM killer and not about to restart. */
function isOomKilledDown(s: ContainerStatusView): boolean {
  return s.oomKilled === true && (s.phase === "Exited" || s.phase === "Failed");
}

/** kubectl's RESTARTS: `0`, `3 (2m ago)`. */
export function restartsText(s: ContainerStatusView, now: number): string {
  const n = s.restartCount ?? 0;
  if (n === 0) return "0";
  const t = s.lastRestartAt ? Date.parse(s.lastRestartAt) : NaN;
  return Number.isNaN(t) ? String(n) : `${n} (${shortDuration(now - t)} ago)`;
}

/** READY and STATUS of a kind other than Container. */
export function genericStatusText(s: GenericStatusView): { ready: string; status: string } {
  return { ready: s.ready ? "True" : "False", status: s.reason ?? (s.ready ? "Ready" : "NotReady") };
}

export type TableFormat = "table" | "wide";

/** Docker's PORTS column: `127.0.0.1:8080->80/tcp, 0.0.0.0:32768->53/udp`. */
export function portsText(ports: NonNullable<ContainerStatusView["ports"]>): string {
  return ports.map((p) => `${p.hostIP.includes(":") ? `[${p.hostIP}]` : p.hostIP}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(", ");
}

/** The table of one kind's objects; `prefixKind` names rows `container/web` (listing all kinds). */
export function formatObjectTable(kind: Kind, views: ObjectView[], now: number, options: { wide?: boolean; prefixKind?: boolean } = {}): string {
  const name = (v: ObjectView) => (options.prefixKind ? objectRef(KIND_NAMES[kind].singular, v.metadata.name) : v.metadata.name);
  const dash = (v: unknown) => (v === undefined || v === null || v === "" ? "-" : String(v));
  if (kind === "Container") {
    const header = ["NAME", "IMAGE", "STATUS", "RESTARTS", "AGE", ...(options.wide ? ["PID", "IP", "PORTS", "STACK", "REASON"] : [])];
    const rows = views.map((v) => {
      const s = v.status as ContainerStatusView;
      const image = (v.spec as { image?: unknown } | null)?.image;
      const row = [name(v), dash(image), containerStatusText(s, now), restartsText(s, now), age(v.metadata.createdAt, now)];
      if (options.wide) {
        const ip = (s.networks ?? []).map((n) => n.address.split("/")[0]).join(",");
        row.push(s.phase === "Running" ? dash(s.pid) : "-", dash(ip), dash(portsText(s.ports ?? [])), dash(v.metadata.stack), dash(s.reason));
      }
      return row;
    });
    return formatTable(header, rows);
  }
  const header = ["NAME", "READY", "STATUS", "AGE", ...(options.wide ? ["STACK"] : [])];
  const rows = views.map((v) => {
    const { ready, status } = genericStatusText(v.status as GenericStatusView);
    return [name(v), ready, status, age(v.metadata.createdAt, now), ...(options.wide ? [dash(v.metadata.stack)] : [])];
  });
  return formatTable(header, rows);
}

/** Tables of several kinds, kubectl `get all` style: names prefixed by kind, a blank line between tables. */
export function formatObjectTables(groups: { kind: Kind; items: ObjectView[] }[], now: number, options: { wide?: boolean; prefixKind?: boolean } = {}): string {
  return groups
    .filter((g) => g.items.length > 0)
    .sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind))
    .map((g) => formatObjectTable(g.kind, g.items, now, options))
    .join("\n");
}

/** Readiness as `apply --wait` and `berth wait` judge it. */
export interface Readiness {
  /** Ready: the wait for this object is over. */
  ready: boolean;
  /** Will not become ready without a change (container phase Failed, or exited non-zero with restart policy `no`). */
  failed: boolean;
  /** Short state: `Running (health: starting)`, `Pending`, `Ready`. */
  state: string;
  /** Reason and message, when the daemon gave one. */
  message: string;
}

function restartPolicyName(spec: unknown): string | undefined {
  const rp = (spec as { restartPolicy?: unknown } | null)?.restartPolicy;
  if (typeof rp === "string") return rp.split(":")[0];
  if (rp && typeof rp === "object" && typeof (rp as { name?: unknown }).name === "string") return (rp as { name: string }).name;
  return undefined;
}

/** Whether the container is meant to have a healthcheck (its own or the status says one runs). */
export function hasHealthcheck(view: ObjectView): boolean {
  const s = view.status as ContainerStatusView;
  if (s.health && s.health !== "none") return true;
  const spec = view.spec as { healthcheck?: unknown; healthcheckDisabled?: unknown } | null;
  return Boolean(spec?.healthcheck) && spec?.healthcheckDisabled !== true;
}

export function reasonMessage(s: { reason?: string | undefined; message?: string | undefined }): string {
  if (s.reason && s.message) return `${s.reason}: ${s.message}`;
  return s.reason ?? s.message ?? "";
}

/**
 * Containers are ready when Running and, with a healthcheck, healthy — or when they exited 0
 * under restart policy `no` (a job that finished). Other kinds: `status.ready`.
 */
export function readiness(view: ObjectView): Readiness {
  if (!isContainerStatus(view)) {
    const s = view.status as GenericStatusView;
    return { ready: Boolean(s?.ready), failed: false, state: s?.ready ? "Ready" : "NotReady", message: reasonMessage(s ?? {}) };
  }
  const s = view.status;
  const message = reasonMessage(s);
  const code = s.exitCode === undefined ? "" : ` (${s.exitCode})`;
  const down = isOomKilledDown(s) ? `OOMKilled${code}` : undefined;
  switch (s.phase) {
    case "Running": {
      if (!hasHealthcheck(view)) return { ready: true, failed: false, state: "Running", message };
      const health = s.health === "none" ? "health: starting" : s.health === "starting" ? "health: starting" : s.health;
      return { ready: s.health === "healthy", failed: false, state: `Running (${health})`, message };
    }
    case "Exited": {
      const policyNo = restartPolicyName(view.spec) === "no";
      if (policyNo && s.exitCode === 0 && !down) return { ready: true, failed: false, state: `Exited${code}`, message };
      if (policyNo && s.exitCode !== undefined) return { ready: false, failed: true, state: down ?? `Exited${code}`, message: message || `exited with code ${s.exitCode} and restart policy "no"` };
      return { ready: false, failed: false, state: down ?? `Exited${code}`, message };
    }
    case "Restarting":
      return { ready: false, failed: false, state: `Restarting${code}`, message };
    case "Failed":
      return { ready: false, failed: true, state: down ?? "Failed", message };
    case "Pending":
    default:
      return { ready: false, failed: false, state: s.phase ?? "Pending", message };
  }
}

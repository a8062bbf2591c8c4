/**
 * Ordering and readiness of dependencies.
 *
 * - Kinds: Image, Volume, Network before Container, HealthCheck last (schemas KINDS order);
 *   deletion runs in the reverse order.
 * - Containers: `dependsOn` forms a graph; it must be acyclic (`findCycles`,
 *   `assertAcyclic`). Within the Container kind objects are ordered so that dependencies
 *   come first; ties by name, so the order is deterministic.
 * - Readiness (compose `depends_on` conditions, judged level-based on every reconcile):
 *   - `started`: the dependency is running (or exited 0 and will not run again: it did start).
 *   - `healthy`: it is running and its healthcheck says healthy. A dependency without a
 *     healthcheck can never satisfy it: failed (compose refuses the same).
 *   - `completed`: it exited with code 0.
 *   A dependency is *failed* — reported on the dependent, which waits with `failed` — when
 *   its own status is failed (failing to start, restart policy gave up, its dependencies
 *   failed), or when it exited non-zero and no restart is pending (for `completed` this is
 *   compose's "didn't complete successfully"). While a restart is pending it is only "not
 *   ready yet": the next run may succeed. An undeclared dependency is waited for (it may be
 *   applied later, from another stack); the reason says it is not declared.
 * - `required: false` (Compose's): an undeclared dependency is not waited for, and neither is
 *   a failed one (compose's "optional dependency ... failed to start" warning): satisfied
 *   with `skipped`, the reason saying why. A declared one is waited for as any other.
 * - `restart: true` (Compose's): the verdict carries the dependency's run start
 *   (`runStartedAtMs`); the planner restarts a dependent whose run began before it. Compose
 *   can only do this for restarts it drives itself (`compose restart`, a recreate by `up`),
 *   not for the engine's restart-policy restarts (docker/compose#10263); berth drives both,
 *   so every new run of the dependency — recreate, user restart, policy or unhealthy restart —
 *   restarts its `restart: true` dependents.
 */
import { invalidArgument } from "../lib/errors.js";
import { KINDS, type Kind } from "../schemas/kinds.js";
import type { AnyObject, DependencyCondition } from "./manifests/model.js";

/**
 * What the planner needs to know about one dependency (another Container) to judge a
 * `dependsOn` condition. Built by the reconciler from the dependency's observed state, its
 * health and its own status.
 */
export interface DependencyState {
  /** False when no desired object of that name exists. */
  declared: boolean;
  /** Runtime status; `absent` when no container exists (yet). */
  status: "absent" | "created" | "running" | "exited" | "unknown";
  exitCode?: number;
  /** Whether the dependency has a healthcheck (its own or an attached HealthCheck). */
  hasHealthcheck: boolean;
  /** Current health of the running dependency, when it has a healthcheck. */
  health?: "starting" | "healthy" | "unhealthy";
  /** True when its restart policy will start it again (it exited and a restart is pending). */
  restartPending: boolean;
  /** True when berth restarts it on turning unhealthy (its onUnhealthy is `restart`); unset: false. */
  restartsWhenUnhealthy?: boolean;
  /**
   * Set when the dependency itself is failed: failing to start, its restart policy gave up,
   * or its own dependencies failed. The text says why.
   */
  failure?: string;
  /** When its current run started (epoch ms), if it has run. */
  startedAtMs?: number;
}

/** The verdict on one `dependsOn` entry. */
export interface DependencyReadiness {
  name: string;
  condition: DependencyCondition;
  /** The condition holds: the dependent may be started. */
  satisfied: boolean;
  /** The condition cannot hold without a change (reported as a failure on the dependent). */
  failed: boolean;
  /** Human text naming the dependency, e.g. `db is not healthy yet (starting)`. */
  reason: string;
  /** `required: false` and undeclared or failed: not waited for (a warning). */
  skipped?: boolean;
  /** `restart: true`: when the dependency's current run started (a dependent started before it is restarted). */
  runStartedAtMs?: number;
}

/** Position of a kind in apply order (lower first). */
export function kindRank(kind: Kind): number {
  return KINDS.indexOf(kind);
}

type Named = { kind: Kind; metadata: { name: string }; spec?: unknown };

/** Names each container depends on (`dependsOn`), by container name. */
export function containerGraph(objects: readonly Named[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const o of objects) {
    if (o.kind !== "Container") continue;
    const deps = ((o.spec as { dependsOn?: { name: string }[] } | undefined)?.dependsOn ?? []).map((d) => d.name);
    graph.set(o.metadata.name, deps);
  }
  return graph;
}

/**
 * Every elementary cycle reachable by depth-first search, each as a path that ends where it
 * starts (`["a", "b", "a"]`), rotated to start at its smallest name; duplicates removed.
 * Edges to names not in the graph are ignored.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const found = new Map<string, string[]>();
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === "visiting") {
        const cycle = stack.slice(stack.indexOf(next));
        const min = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(min), ...cycle.slice(0, min)];
        found.set(rotated.join("\0"), [...rotated, rotated[0]!]);
      } else if (s === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...found.values()];
}

/** Throws InvalidArgument naming the first cycle, e.g. `dependency cycle: a → b → a`. */
export function assertAcyclic(objects: readonly Named[]): void {
  const cycles = findCycles(containerGraph(objects));
  if (cycles.length === 0) return;
  const first = cycles[0]!;
  throw invalidArgument(`check dependsOn: dependency cycle: ${first.join(" → ")}`, {
    object: { kind: "Container", name: first[0]! },
  });
}

/**
 * Container names with dependencies before dependents (Kahn's algorithm, ties by name).
 * Names in a cycle, and those depending on them, come last in name order.
 */
export function topologicalOrder(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const pending = new Map<string, Set<string>>();
  for (const [node, deps] of graph) pending.set(node, new Set(deps.filter((d) => graph.has(d) && d !== node)));
  for (const [node, deps] of graph) if (deps.includes(node)) pending.get(node)!.add(node); // self-loop: never ready
  const order: string[] = [];
  for (;;) {
    const ready = [...pending].filter(([, deps]) => deps.size === 0).map(([n]) => n).sort();
    if (ready.length === 0) break;
    const next = ready[0]!;
    order.push(next);
    pending.delete(next);
    for (const deps of pending.values()) deps.delete(next);
  }
  return [...order, ...[...pending.keys()].sort()];
}

/** Objects in apply order: by kind, containers after their dependencies, else by name. */
export function sortForApply<T extends Named>(objects: readonly T[]): T[] {
  const containerPos = new Map(topologicalOrder(containerGraph(objects)).map((n, i) => [n, i]));
  return [...objects].sort((a, b) => {
    const k = kindRank(a.kind) - kindRank(b.kind);
    if (k !== 0) return k;
    if (a.kind === "Container") return containerPos.get(a.metadata.name)! - containerPos.get(b.metadata.name)!;
    return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
  });
}

/** Objects in delete order: the reverse of apply order (dependents first). */
export function sortForDelete<T extends Named>(objects: readonly T[]): T[] {
  return sortForApply(objects).reverse();
}

/**
 * Keys of the declared Image, Volume and Network objects a container uses (its image by
 * reference, named volume mounts, networks): they are reconciled before it.
 */
export function referencedObjectKeys(container: AnyObject, declared: readonly AnyObject[]): string[] {
  if (container.kind !== "Container") return [];
  const spec = container.spec;
  const keys = new Set<string>();
  for (const o of declared) {
    if (o.kind === "Image" && o.spec.reference === spec.image) keys.add(`image/${o.metadata.name}`);
    if (o.kind === "Volume" && spec.mounts.some((m) => m.type === "volume" && m.source === o.metadata.name)) keys.add(`volume/${o.metadata.name}`);
    if (o.kind === "Network" && spec.networks.some((n) => n.name === o.metadata.name)) keys.add(`network/${o.metadata.name}`);
  }
  return [...keys].sort();
}

/** Judges one `dependsOn` entry against the dependencies' states (by container name). */
export function readiness(
  dep: { name: string; condition: DependencyCondition; restart?: boolean; required?: boolean },
  states: ReadonlyMap<string, DependencyState>,
): DependencyReadiness {
  const verdict = requiredReadiness(dep, states);
  const s = states.get(dep.name);
  if (dep.required === false && (verdict.failed || !s?.declared)) {
    const why = !s?.declared ? `dependency ${dep.name} is not declared` : verdict.reason;
    return { name: dep.name, condition: dep.condition, satisfied: true, failed: false, skipped: true, reason: `${why}; not required: not waited for` };
  }
  if (dep.restart && s?.startedAtMs !== undefined) verdict.runStartedAtMs = s.startedAtMs;
  return verdict;
}

function requiredReadiness(dep: { name: string; condition: DependencyCondition }, states: ReadonlyMap<string, DependencyState>): DependencyReadiness {
  const { name, condition } = dep;
  const out = (satisfied: boolean, failed: boolean, reason: string): DependencyReadiness => ({ name, condition, satisfied, failed, reason });
  const s = states.get(name);
  if (!s || !s.declared) return out(false, false, `dependency ${name} is not declared`);
  if (s.failure) return out(false, true, `dependency ${name} failed: ${s.failure}`);

  const exitedNonZero = () =>
    s.restartPending
      ? out(false, false, `dependency ${name} exited with code ${s.exitCode ?? "?"} and is restarting`)
      : out(false, true, `dependency ${name} exited with code ${s.exitCode ?? "?"}`);
  const notStarted = () => out(false, false, `dependency ${name} is not ${s.status === "created" ? "started" : "created"} yet`);

  switch (condition) {
    case "started":
      if (s.status === "running") return out(true, false, `dependency ${name} is running`);
      if (s.status === "exited") {
        if (s.exitCode === 0 && !s.restartPending) return out(true, false, `dependency ${name} ran and completed`);
        if (s.exitCode === 0) return out(false, false, `dependency ${name} exited and is restarting`);
        return exitedNonZero();
      }
      if (s.status === "unknown") return out(false, false, `dependency ${name} is in an unknown state`);
      return notStarted();
    case "healthy":
      if (!s.hasHealthcheck) return out(false, true, `dependency ${name} has no healthcheck, so it can never be healthy`);
      if (s.status === "running") {
        if (s.health === "healthy") return out(true, false, `dependency ${name} is healthy`);
        // Compose fails the dependents of an unhealthy dependency; berth waits while it will
        // restart the dependency for it (onUnhealthy: restart), and fails them otherwise.
        if (s.health === "unhealthy" && !s.restartsWhenUnhealthy) return out(false, true, `dependency ${name} is unhealthy`);
        if (s.health === "unhealthy") return out(false, false, `dependency ${name} is unhealthy and is being restarted`);
        return out(false, false, `dependency ${name} is not healthy yet (${s.health ?? "starting"})`);
      }
      if (s.status === "exited") {
        if (s.exitCode === 0 && !s.restartPending) return out(false, true, `dependency ${name} exited with code 0 and will not run again`);
        if (s.exitCode === 0) return out(false, false, `dependency ${name} exited and is restarting`);
        return exitedNonZero();
      }
      if (s.status === "unknown") return out(false, false, `dependency ${name} is in an unknown state`);
      return notStarted();
    case "completed":
      if (s.status === "exited") {
        if (s.exitCode === 0) return out(true, false, `dependency ${name} completed successfully`);
        return exitedNonZero();
      }
      if (s.status === "running") return out(false, false, `dependency ${name} has not completed yet`);
      if (s.status === "unknown") return out(false, false, `dependency ${name} is in an unknown state`);
      return notStarted();
  }
}

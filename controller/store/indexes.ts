/**
 * Indexes over the desired state, kept current on every committed apply or delete (the
 * desired store's `subscribe`), so reconcilers find related objects without scanning every
 * object: containers by image reference, by named volume, by network and by the container
 * they depend on; Image objects by the reference they provide; HealthChecks by target.
 *
 * Contract: every lookup reflects the last committed write of the desired store it was built
 * on; results are keys in name order (a deterministic order for enqueueing and for the
 * HealthCheck attachment rule). Single-threaded; lookups never throw.
 */
import type { ContainerObject, HealthCheckObject } from "../manifests/model.js";
import type { DesiredStore } from "./desired-store.js";
import { defaultNetworkName } from "./keys.js";
import type { StoreChange, StoredObject } from "./types.js";

class MultiMap {
  private readonly map = new Map<string, Set<string>>();
  add(k: string, v: string) {
    let s = this.map.get(k);
    if (!s) this.map.set(k, (s = new Set()));
    s.add(v);
  }
  remove(k: string, v: string) {
    const s = this.map.get(k);
    if (!s) return;
    s.delete(v);
    if (s.size === 0) this.map.delete(k);
  }
  get(k: string): string[] {
    return [...(this.map.get(k) ?? [])].sort();
  }
}

export class DesiredIndexes {
  private readonly byKind = new Map<string, Set<string>>();
  private readonly containersByImage = new MultiMap();
  private readonly containersByVolume = new MultiMap();
  private readonly containersByNetwork = new MultiMap();
  private readonly dependents = new MultiMap();
  private readonly imagesByReference = new MultiMap();
  private readonly checksByName = new MultiMap();
  private readonly selectorChecks = new Set<string>();

  constructor(private readonly desired: DesiredStore) {
    for (const o of desired.list()) this.add(o);
    desired.subscribe((changes) => this.apply(changes));
  }

  private apply(changes: StoreChange[]) {
    for (const c of changes) {
      if (c.before) this.remove(c.before);
      if (c.after) this.add(c.after);
    }
  }

  private add(o: StoredObject) {
    this.index(o, (m, k) => m.add(k, o.key));
    let s = this.byKind.get(o.kind);
    if (!s) this.byKind.set(o.kind, (s = new Set()));
    s.add(o.key);
    if (o.kind === "HealthCheck" && "selector" in (o.object as HealthCheckObject).spec.target) this.selectorChecks.add(o.key);
  }

  private remove(o: StoredObject) {
    this.index(o, (m, k) => m.remove(k, o.key));
    this.byKind.get(o.kind)?.delete(o.key);
    this.selectorChecks.delete(o.key);
  }

  private index(o: StoredObject, f: (m: MultiMap, k: string) => void) {
    switch (o.object.kind) {
      case "Container": {
        const spec = o.object.spec;
        f(this.containersByImage, spec.image);
        for (const m of spec.mounts) if (m.type === "volume" && m.source) f(this.containersByVolume, m.source);
        for (const n of spec.networks) f(this.containersByNetwork, n.name);
        if (spec.networks.length === 0 && (spec.networkMode === undefined || spec.networkMode === "bridge")) f(this.containersByNetwork, defaultNetworkName(o.stack));
        for (const d of spec.dependsOn) f(this.dependents, d.name);
        // A container sharing another's network namespace re-plans when that one changes.
        if (spec.networkMode?.startsWith("container:")) f(this.dependents, spec.networkMode.slice("container:".length));
        break;
      }
      case "Image":
        f(this.imagesByReference, o.object.spec.reference);
        break;
      case "HealthCheck": {
        const t = o.object.spec.target;
        if ("name" in t) f(this.checksByName, t.name);
        break;
      }
    }
  }

  /**
   * The objects whose reconcile judges the condition of `key`: the containers using an
   * Image's reference, mounting a Volume, on a Network, depending on a Container, or checked
   * by a HealthCheck.
   */
  watchersOf(key: string): string[] {
    const o = this.desired.get(key)?.object;
    switch (o?.kind) {
      case "Image":
        return this.containersUsingImage(o.spec.reference);
      case "Volume":
        return this.containersUsingVolume(o.metadata.name);
      case "Network":
        return this.containersOnNetwork(o.metadata.name);
      case "Container":
        return this.dependentsOf(o.metadata.name);
      case "HealthCheck":
        return this.containersCheckedBy(o);
      default:
        return [];
    }
  }

  /** Keys of every desired object of `kind`, in name order. */
  keysOfKind(kind: StoredObject["kind"]): string[] {
    return [...(this.byKind.get(kind) ?? [])].sort();
  }

  /** Containers whose image is `reference`. */
  containersUsingImage(reference: string): string[] {
    return this.containersByImage.get(reference);
  }

  /** Containers mounting the named volume `name`. */
  containersUsingVolume(name: string): string[] {
    return this.containersByVolume.get(name);
  }

  /** Containers attached to network `name` (a stack's default network too: `defaultNetworkName`). */
  containersOnNetwork(name: string): string[] {
    return this.containersByNetwork.get(name);
  }

  /** Containers with a `dependsOn` entry naming container `name`, or sharing its network. */
  dependentsOf(name: string): string[] {
    return this.dependents.get(name);
  }

  /** The Image object that provides `reference` (the first by name when several do). */
  imageProviding(reference: string): StoredObject | undefined {
    const key = this.imagesByReference.get(reference)[0];
    return key ? this.desired.get(key) : undefined;
  }

  /**
   * The HealthCheck attached to a container: one targeting it by name first, else the first
   * (by name) whose selector matches its labels.
   */
  checkFor(container: ContainerObject): HealthCheckObject | undefined {
    const byName = this.checksByName.get(container.metadata.name)[0];
    if (byName) return this.desired.get(byName)?.object as HealthCheckObject | undefined;
    for (const key of [...this.selectorChecks].sort()) {
      const check = this.desired.get(key)?.object as HealthCheckObject | undefined;
      const t = check?.spec.target;
      if (t && "selector" in t && Object.entries(t.selector.matchLabels).every(([k, v]) => container.metadata.labels[k] === v)) return check;
    }
    return undefined;
  }

  /** Containers a HealthCheck applies to now (the attachment rule of `checkFor`). */
  containersCheckedBy(check: HealthCheckObject): string[] {
    const t = check.spec.target;
    const candidates = "name" in t ? [`container/${t.name}`] : this.keysOfKind("Container");
    return candidates.filter((key) => {
      const c = this.desired.get(key)?.object as ContainerObject | undefined;
      return c !== undefined && this.checkFor(c)?.metadata.name === check.metadata.name;
    });
  }
}

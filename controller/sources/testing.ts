/**
 * An in-memory apply target for source tests: the real manifest loader (so errors are the
 * located ones the daemon reports, and the policy is the daemon's), and a map of objects per
 * stack standing in for the desired store, with its created/configured/unchanged/deleted rules.
 */
import type { ApplyRequest, ApplyResponse, ChangeEntry, EventRecord } from "../api/protocol.js";
import { grantLoadOptions } from "../manifests/grants.js";
import { loadManifestTexts } from "../manifests/load.js";
import { objectKey } from "../manifests/model.js";
import type { ApplyTarget } from "./types.js";

export class FakeApplyTarget implements ApplyTarget {
  /** key → {stack, JSON of metadata+spec} */
  readonly store = new Map<string, { stack: string; kind: ChangeEntry["kind"]; name: string; json: string }>();
  /** The real (not dry-run) applies, in order. */
  readonly applies: { req: ApplyRequest; changes: ChangeEntry[] }[] = [];
  dryRuns = 0;
  readonly events: Pick<EventRecord, "type" | "reason" | "object" | "message">[] = [];
  /** Makes the next apply throw (a Conflict, the store failing). */
  failNext: Error | undefined;

  async apply(req: ApplyRequest): Promise<ApplyResponse> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    const loaded = loadManifestTexts(req.files, grantLoadOptions(req.allow ?? []));
    const dryRun = !!req.dryRun;
    if (loaded.diagnostics.some((d) => d.severity === "error")) return { dryRun, changes: [], diagnostics: loaded.diagnostics };
    const changes: ChangeEntry[] = [];
    const next = new Map<string, { kind: ChangeEntry["kind"]; name: string; json: string }>();
    for (const o of loaded.objects) {
      const key = objectKey(o);
      const json = JSON.stringify({ metadata: o.metadata, spec: o.spec });
      next.set(key, { kind: o.kind, name: o.metadata.name, json });
      const had = this.store.get(key);
      changes.push({ kind: o.kind, name: o.metadata.name, action: !had ? "created" : had.json === json ? "unchanged" : "configured" });
    }
    const deleted = req.prune ? [...this.store].filter(([k, v]) => v.stack === req.stack && !next.has(k)).map(([k]) => k) : [];
    for (const k of deleted) changes.push({ kind: this.store.get(k)!.kind, name: this.store.get(k)!.name, action: "deleted" });
    const diffs = changes.filter((c) => c.action !== "unchanged").map((c) => ({ kind: c.kind, name: c.name }));
    if (dryRun) {
      this.dryRuns++;
      return { dryRun, changes, diagnostics: loaded.diagnostics, diffs };
    }
    for (const [k, v] of next) this.store.set(k, { stack: req.stack, ...v });
    for (const k of deleted) this.store.delete(k);
    this.applies.push({ req, changes });
    return { dryRun, changes, diagnostics: loaded.diagnostics };
  }

  event(type: EventRecord["type"], reason: string, object: string, message: string): void {
    this.events.push({ type, reason, object, message });
  }

  async objects(stack: string) {
    const total = [...this.store.values()].filter((v) => v.stack === stack).length;
    return { ready: total, total };
  }

  /** The changes of real applies that were not `unchanged`, as `kind/name action`. */
  changeLines(): string[][] {
    return this.applies.map((a) => a.changes.filter((c) => c.action !== "unchanged").map((c) => `${c.kind.toLowerCase()}/${c.name} ${c.action}`));
  }
}

/** A Container manifest on localhost/busybox (no image object needed by the loader). */
export function containerYaml(name: string, extra = "", command = "sleep 3600"): string {
  return `apiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: localhost/busybox:latest\n  command: [sh, -c, '${command}']\n${extra}`;
}

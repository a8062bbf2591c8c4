import type { Logger } from "pino";
import type { Clock } from "../../lib/clock.js";
import { errorMessage } from "../../lib/errors.js";
import type { ApplyRequest, ApplyResponse, ChangeEntry, SourcePlan, SourceSyncResponse, SourceView } from "../api/protocol.js";
import { formatDiagnostic, type Diagnostic } from "../manifests/diagnostics.js";
import { Debouncer, defaultDebounceOptions, type DebounceOptions } from "./debounce.js";
import { stackObject, type ApplyTarget, type DirWatch, type Revision, type SourceSpec } from "./types.js";

export interface SourceRunnerOptions {
  debounce: DebounceOptions;
  /** The source is read again this often even without a change, and drift from it is put back. */
  resyncMs: number;
}

export function defaultSourceRunnerOptions(): SourceRunnerOptions {
  return { debounce: defaultDebounceOptions(), resyncMs: 60_000 };
}

export interface SourceRunnerDeps {
  spec: SourceSpec;
  clock: Clock;
  logger: Logger;
  target: ApplyTarget;
  /** Reads the source's current revision: its files once into memory, and its git state. */
  read(): Promise<Revision>;
  /** A git remote: fetches and checks out; called on the source's interval and by `sync`. */
  refresh?(): Promise<string>;
  /** A directory: starts watching it; each change feeds the debouncer. */
  watch?(onChange: () => void): DirWatch;
  /** What the view reports as the directory read. */
  dir: string;
  options?: Partial<SourceRunnerOptions>;
}

/**
 * Why a background cycle runs, weakest first; coalesced cycles run as the strongest asked.
 * change: read, apply if the set's hash changed. resync: also put drift back. fetch: fetch the
 * remote first.
 */
const REASONS = ["change", "resync", "fetch"] as const;
type Reason = (typeof REASONS)[number];
const stronger = (a: Reason, b: Reason): Reason => (REASONS.indexOf(a) >= REASONS.indexOf(b) ? a : b);

const MAX_ERRORS_IN_EVENT = 5;

/**
 * One source's loop: changes are debounced into one read of the whole set; a set whose hash
 * is the one last seen is not applied again; a new one is applied as the stack (auto) or
 * planned (manual). Contracts:
 * - A revision with any read, parse or validation error applies and prunes nothing: the last
 *   good revision keeps running, the located errors are on the view and in one event.
 * - Cycles never overlap: a change during a cycle runs one more cycle after it (coalesced).
 * - A resync re-reads and, when the hash is unchanged, dry-runs the last good revision: any
 *   change there is drift, which auto mode puts back (and manual mode plans).
 * - `sync` (manual) applies the pending revision exactly as it was planned, from memory.
 * Errors of a cycle are the view's (state Failed) and an event; they never escape.
 */
export class SourceRunner {
  readonly spec: SourceSpec;
  private readonly log: Logger;
  private readonly o: SourceRunnerOptions;
  private readonly debouncer: Debouncer;
  private readonly abort = new AbortController();
  private watcher: DirWatch | undefined;
  private cancelResync: (() => void) | undefined;
  private cancelFetch: (() => void) | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private queued: { reason: Reason; done: Promise<void> } | undefined;
  private stopped = false;

  // what the view shows
  private state: SourceView["state"] = "Pending";
  private message: string | undefined;
  private newest: Revision | undefined;
  private lastSeenHash: string | undefined;
  private lastGood: Revision | undefined;
  private lastApply: SourceView["lastApply"];
  private errors: Diagnostic[] = [];
  private plan: SourcePlan | undefined;
  private pending: Revision | undefined;
  private lastFailure: string | undefined;
  /** The revision whose errors were last sent as an event (a resync does not repeat them). */
  private invalidEventFor: string | undefined;
  /** Cycles run (tests: coalescing). */
  cycles = 0;

  constructor(private readonly d: SourceRunnerDeps) {
    this.spec = d.spec;
    this.log = d.logger.child({ stack: d.spec.stack });
    this.o = { ...defaultSourceRunnerOptions(), ...d.options };
    this.debouncer = new Debouncer(d.clock, () => void this.schedule("change"), this.o.debounce);
  }

  /**
   * Starts watching (a directory) and the timers, and runs the first cycle (a remote: its
   * first fetch); resolves when that cycle is done.
   */
  async start(): Promise<void> {
    if (this.d.watch) {
      this.watcher = this.d.watch(() => this.changed());
      await this.watcher.ready;
    }
    this.armResync();
    this.armFetch();
    await this.schedule(this.d.refresh ? "fetch" : "resync");
  }

  /** Stops the watch and timers and waits for a running cycle; an in-flight apply is aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.debouncer.cancel();
    this.cancelResync?.();
    this.cancelFetch?.();
    this.abort.abort(new Error("source stopped"));
    await this.watcher?.close();
    await this.tail;
  }

  /** A change was seen in the source: debounced. */
  changed(): void {
    if (!this.stopped) this.debouncer.trigger();
  }

  /** Runs a background cycle after the current one; coalesces with one already waiting. */
  schedule(reason: Reason): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.queued) {
      this.queued.reason = stronger(this.queued.reason, reason);
      return this.queued.done;
    }
    const q: { reason: Reason; done: Promise<void> } = { reason, done: Promise.resolve() };
    q.done = this.tail.then(async () => {
      this.queued = undefined;
      if (!this.stopped) await this.cycle(q.reason);
    });
    this.queued = q;
    this.tail = q.done.catch(() => {});
    return q.done;
  }

  /** Runs `job` after the current cycle, alone. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const done = this.tail.then(job);
    this.tail = done.catch(() => {});
    return done;
  }

  /**
   * `berth sync`: the pending revision (manual mode) as planned; otherwise the source fetched
   * (a remote), read now and applied. A revision with errors applies nothing (`applied: false`).
   */
  sync(): Promise<SourceSyncResponse> {
    return this.exclusive(async () => {
      let rev = this.pending;
      if (!rev) {
        if (this.d.refresh) await this.refreshed();
        rev = await this.readRevision();
      }
      const res = await this.applyRevision(rev, "sync");
      return {
        stack: this.spec.stack,
        revision: rev.hash,
        ...(rev.commit ? { commit: rev.commit } : {}),
        applied: res !== undefined,
        changes: res?.changes ?? [],
        diagnostics: res ? res.diagnostics : this.errors,
      };
    });
  }

  /** The pending plan (manual mode), else what applying the source as it is now would change. */
  planNow(): Promise<SourcePlan> {
    return this.exclusive(async () => {
      if (this.plan && this.pending) return this.plan;
      const rev = await this.readRevision();
      if (hasErrors(rev.diagnostics)) return planOf(rev, { dryRun: true, changes: [], diagnostics: rev.diagnostics }, this.d.clock);
      return planOf(rev, await this.apply(rev, true), this.d.clock);
    });
  }

  async view(): Promise<SourceView> {
    const s = this.spec;
    const objects = await this.d.target.objects(s.stack).catch(() => ({ ready: 0, total: 0 }));
    const rev = this.newest;
    return {
      stack: s.stack,
      source: {
        type: s.type,
        dir: this.d.dir,
        ...(s.git ? { url: s.git.url, ...(s.git.branch ? { branch: s.git.branch } : {}), ...(s.git.path ? { path: s.git.path } : {}), intervalMs: s.git.intervalMs } : {}),
      },
      sync: s.sync,
      prune: s.prune,
      allow: s.allow,
      registeredAt: s.registeredAt,
      state: this.state,
      ...(this.message ? { message: this.message } : {}),
      ...(rev ? { revision: rev.hash } : {}),
      ...(rev?.commit ? { commit: rev.commit } : {}),
      ...(rev?.dirty !== undefined ? { dirty: rev.dirty } : {}),
      ...(this.lastGood ? { appliedRevision: this.lastGood.hash } : {}),
      ...(this.lastGood?.commit ? { appliedCommit: this.lastGood.commit } : {}),
      ...(this.lastApply ? { lastApply: this.lastApply } : {}),
      errors: this.errors,
      ...(this.plan && this.pending ? { plan: this.plan } : {}),
      objects,
    };
  }

  private armResync() {
    if (this.stopped) return;
    this.cancelResync = this.d.clock.setTimer(this.o.resyncMs, () => {
      void this.schedule("resync").finally(() => this.armResync());
    });
  }

  private armFetch() {
    if (this.stopped || !this.d.refresh || !this.spec.git) return;
    this.cancelFetch = this.d.clock.setTimer(this.spec.git.intervalMs, () => {
      void this.schedule("fetch").finally(() => this.armFetch());
    });
  }

  private async cycle(reason: Reason): Promise<void> {
    this.cycles++;
    try {
      if (reason === "fetch") await this.refreshed();
      const rev = await this.readRevision();
      if (rev.hash !== this.lastSeenHash) {
        this.lastSeenHash = rev.hash;
        await this.newRevision(rev);
      } else if (reason !== "change") {
        await this.checkDrift(rev);
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.failed(err);
    }
  }

  private async refreshed(): Promise<void> {
    const commit = await this.d.refresh!();
    this.log.debug({ commit }, "fetched");
  }

  private async readRevision(): Promise<Revision> {
    const rev = await this.d.read();
    this.newest = rev;
    if (this.state === "Failed" && this.lastFailure) {
      this.state = this.lastGood ? "Synced" : "Pending";
      this.message = undefined;
      this.lastFailure = undefined;
    }
    return rev;
  }

  private async newRevision(rev: Revision): Promise<void> {
    if (this.spec.sync === "auto") {
      await this.applyRevision(rev, "revision");
      return;
    }
    if (hasErrors(rev.diagnostics)) return this.invalid(rev, rev.diagnostics);
    const res = await this.apply(rev, true);
    if (hasErrors(res.diagnostics)) return this.invalid(rev, res.diagnostics);
    this.errors = [];
    const changed = res.changes.filter((c) => c.action !== "unchanged");
    if (changed.length === 0) {
      // what runs already is this revision
      this.plan = this.pending = undefined;
      this.lastGood = rev;
      this.state = "Synced";
      this.message = undefined;
      return;
    }
    this.plan = planOf(rev, res, this.d.clock);
    this.pending = rev;
    this.state = "OutOfSync";
    this.message = `revision ${short(rev)} waits for \`berth sync ${this.spec.stack}\`: ${summary(changed, true)}`;
    this.d.target.event("Normal", "PlanReady", stackObject(this.spec.stack), this.message);
  }

  /** The set is as last seen: compare the last good revision with what the store has (drift). */
  private async checkDrift(rev: Revision): Promise<void> {
    const good = this.lastGood;
    if (!good || (this.spec.sync === "manual" && this.pending)) return;
    const res = await this.apply(good, true);
    const changed = res.changes.filter((c) => c.action !== "unchanged");
    if (hasErrors(res.diagnostics) || changed.length === 0) return;
    if (this.spec.sync === "manual") {
      if (good.hash !== rev.hash) return;
      this.plan = planOf(good, res, this.d.clock);
      this.pending = good;
      this.state = "OutOfSync";
      this.message = `drift from revision ${short(good)} waits for \`berth sync ${this.spec.stack}\`: ${summary(changed, true)}`;
      this.d.target.event("Warning", "Drifted", stackObject(this.spec.stack), this.message);
      return;
    }
    this.d.target.event("Warning", "Drifted", stackObject(this.spec.stack), `stack ${this.spec.stack} drifted from revision ${short(good)}: ${summary(changed, true)}; putting it back`);
    await this.applyRevision(good, "drift");
  }

  /** Applies a revision for real; undefined when it had errors (then nothing was applied). */
  private async applyRevision(rev: Revision, why: "revision" | "sync" | "drift"): Promise<ApplyResponse | undefined> {
    if (hasErrors(rev.diagnostics)) {
      this.invalid(rev, rev.diagnostics);
      return undefined;
    }
    let res: ApplyResponse;
    try {
      res = await this.apply(rev, false);
    } catch (err) {
      this.lastApply = { time: this.now(), result: "Failed", revision: rev.hash, changes: [], message: errorMessage(err) };
      throw err;
    }
    if (hasErrors(res.diagnostics)) {
      this.invalid(rev, res.diagnostics);
      return undefined;
    }
    const changed = res.changes.filter((c) => c.action !== "unchanged");
    this.lastGood = rev;
    this.errors = [];
    this.plan = this.pending = undefined;
    this.state = "Synced";
    this.message = undefined;
    if (why !== "drift" || changed.length > 0) {
      this.lastApply = { time: this.now(), result: "Applied", revision: rev.hash, changes: changed };
    }
    if (changed.length > 0 || why === "sync") {
      this.d.target.event("Normal", "Synced", stackObject(this.spec.stack), `revision ${short(rev)} applied: ${summary(changed, false)}`);
    }
    this.log.info({ revision: rev.hash, commit: rev.commit, changes: changed.length, why }, "source applied");
    return res;
  }

  private invalid(rev: Revision, diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((x) => x.severity === "error");
    const repeated = this.invalidEventFor === rev.hash;
    this.invalidEventFor = rev.hash;
    this.errors = diagnostics;
    this.state = "Invalid";
    this.plan = this.pending = undefined;
    const kept = this.lastGood ? `revision ${short(this.lastGood)} keeps running` : "nothing was applied";
    this.message = `revision ${short(rev)} has ${errors.length} error${errors.length === 1 ? "" : "s"}: nothing of it was applied or pruned; ${kept}`;
    this.lastApply = { time: this.now(), result: "Invalid", revision: rev.hash, changes: [], message: this.message };
    if (repeated) return;
    const shown = errors.slice(0, MAX_ERRORS_IN_EVENT).map(formatDiagnostic);
    if (errors.length > shown.length) shown.push(`and ${errors.length - shown.length} more`);
    this.d.target.event("Warning", "InvalidRevision", stackObject(this.spec.stack), `${this.message}: ${shown.join("; ")}`);
    this.log.warn({ revision: rev.hash, errors: errors.length }, "source revision refused");
  }

  private failed(err: unknown) {
    const message = errorMessage(err);
    this.state = "Failed";
    this.message = message;
    if (message === this.lastFailure) return;
    this.lastFailure = message;
    this.d.target.event("Warning", "SourceFailed", stackObject(this.spec.stack), message);
    this.log.warn({ err }, "source cycle failed");
  }

  private apply(rev: Revision, dryRun: boolean): Promise<ApplyResponse> {
    const req: ApplyRequest = { stack: this.spec.stack, files: rev.files, prune: this.spec.prune, dryRun, allow: this.spec.allow };
    return this.d.target.apply(req, this.abort.signal);
  }

  private now() {
    return new Date(this.d.clock.now()).toISOString();
  }
}

const hasErrors = (ds: Diagnostic[]) => ds.some((x) => x.severity === "error");

function short(rev: Revision): string {
  return rev.commit ? `${rev.hash.slice(0, 12)} (commit ${rev.commit.slice(0, 12)}${rev.dirty ? ", dirty" : ""})` : rev.hash.slice(0, 12);
}

/** `1 created, 2 configured` (or, planned, `1 to create, ...`). */
function summary(changes: ChangeEntry[], planned: boolean): string {
  const n = (a: ChangeEntry["action"]) => changes.filter((c) => c.action === a).length;
  const words = planned ? { created: "to create", configured: "to configure", deleted: "to delete" } : { created: "created", configured: "configured", deleted: "deleted" };
  const parts = (["created", "configured", "deleted"] as const).filter((a) => n(a) > 0).map((a) => `${n(a)} ${words[a]}`);
  return parts.length ? parts.join(", ") : "no changes";
}

function planOf(rev: Revision, res: ApplyResponse, clock: Clock): SourcePlan {
  return {
    revision: rev.hash,
    ...(rev.commit ? { commit: rev.commit } : {}),
    changes: res.changes.filter((c) => c.action !== "unchanged"),
    diffs: res.diffs ?? [],
    diagnostics: res.diagnostics,
    computedAt: new Date(clock.now()).toISOString(),
  };
}

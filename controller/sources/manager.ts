import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock.js";
import { alreadyExists, errorMessage, invalidArgument, notFound } from "../../lib/errors.js";
import type { SourcePlan, SourceRegisterRequest, SourceSyncResponse, SourceUnregisterResponse, SourceView } from "../api/protocol.js";
import { checkRemoteUrl, findWorkTree, GitMirror, workTreeState, type GitOptions } from "./git.js";
import { readSourceSet } from "./snapshot.js";
import { SourceRunner, type SourceRunnerOptions } from "./source-runner.js";
import { SourceStore } from "./source-store.js";
import { stackObject, type ApplyTarget, type Revision, type SourceSpec, type SourcesApi, type WatchDir } from "./types.js";

export interface SourceManagerOptions {
  runner: Partial<SourceRunnerOptions>;
  git: Partial<GitOptions>;
  /** How often a remote is fetched when its registration does not say. */
  defaultIntervalMs: number;
}

export function defaultSourceManagerOptions(): SourceManagerOptions {
  return { runner: {}, git: {}, defaultIntervalMs: 60_000 };
}

export interface SourceManagerInit {
  /** berth's state root: registrations in `<root>/sources/sources.json`, clones in `<root>/sources/git/<stack>`. */
  root: string;
  clock: Clock;
  logger: Logger;
  target: ApplyTarget;
  watch: WatchDir;
  options?: Partial<SourceManagerOptions>;
}

/**
 * The daemon's GitOps sources: the persisted registrations and one SourceRunner each.
 * Registration checks the source (a directory that exists; a remote that can be fetched),
 * persists it, and resolves once its first revision was applied, planned or refused.
 * Unregistering stops the runner and, unless `keep`, deletes the stack's objects (an apply of
 * the empty set with prune, through the same apply). Calls for one stack are serialized.
 */
export class SourceManager implements SourcesApi {
  private readonly runners = new Map<string, SourceRunner>();
  private readonly o: SourceManagerOptions;
  private readonly log: Logger;
  private locks = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly init: SourceManagerInit,
    private readonly store: SourceStore,
  ) {
    this.o = { ...defaultSourceManagerOptions(), ...init.options };
    this.log = init.logger;
  }

  static async open(init: SourceManagerInit): Promise<SourceManager> {
    return new SourceManager(init, await SourceStore.open(path.join(init.root, "sources")));
  }

  /** Starts a runner for every registered source; their first cycles run in the background. */
  start(): void {
    for (const spec of this.store.list()) {
      const r = this.runnerOf(spec);
      this.runners.set(spec.stack, r);
      void r.start().catch((err) => this.log.warn({ err, stack: spec.stack }, "starting a source failed"));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }

  /**
   * `berth daemon --watch DIR[=STACK]`: the directory is watched as the stack, registered now
   * unless it already is (from the same directory). Another source of that stack is AlreadyExists.
   */
  async ensureDir(dir: string, stack: string, signal: AbortSignal): Promise<void> {
    const had = this.store.get(stack);
    if (had?.type === "dir" && had.dir === path.resolve(dir)) return;
    await this.register({ stack, dir: path.resolve(dir) }, signal);
  }

  async list(): Promise<SourceView[]> {
    return Promise.all(this.store.list().map((s) => this.runner(s.stack, "get").view()));
  }

  get(stack: string): Promise<SourceView> {
    return this.runner(stack, "get").view();
  }

  register(req: SourceRegisterRequest, _signal: AbortSignal): Promise<SourceView> {
    return this.locked(req.stack, async () => {
      const what = req.git ? `watch --git ${req.git.url}` : `watch ${req.dir ?? ""}`;
      const had = this.store.get(req.stack);
      if (had) throw alreadyExists(`${what}: stack ${req.stack} is already watched (${describe(had)}); \`berth unwatch ${req.stack} --keep\` first`);
      if (!!req.dir === !!req.git) throw invalidArgument(`watch: give a directory or --git URL (exactly one)`);
      const spec: SourceSpec = {
        stack: req.stack,
        type: req.git ? "git" : "dir",
        sync: req.sync ?? "auto",
        prune: req.prune ?? true,
        allow: [...new Set(req.allow ?? [])].sort(),
        registeredAt: new Date(this.init.clock.now()).toISOString(),
      };
      if (req.dir !== undefined) {
        if (!path.isAbsolute(req.dir)) throw invalidArgument(`${what}: the directory must be an absolute path`);
        const st = await fs.stat(req.dir).catch((err: NodeJS.ErrnoException) => err);
        if (st instanceof Error) throw invalidArgument(`${what}: ${st.code === "ENOENT" ? "no such directory" : st.message}`);
        if (!st.isDirectory()) throw invalidArgument(`${what}: not a directory`);
        spec.dir = path.resolve(req.dir);
      } else {
        const g = req.git!;
        const url = checkRemoteUrl(g.url);
        const sub = g.path === undefined ? undefined : path.posix.normalize(g.path).replace(/\/+$/, "");
        if (sub !== undefined && (path.posix.isAbsolute(sub) || sub === ".." || sub.startsWith("../"))) throw invalidArgument(`${what}: --path ${g.path} must be inside the repository`);
        spec.git = { url, ...(g.branch ? { branch: g.branch } : {}), ...(sub && sub !== "." ? { path: sub } : {}), intervalMs: g.intervalMs ?? this.o.defaultIntervalMs };
        // The first fetch before anything is persisted: a remote that cannot be fetched is refused here.
        const mirror = this.mirrorOf(spec);
        try {
          await mirror.update();
        } catch (err) {
          await fs.rm(mirror.dir, { recursive: true, force: true });
          throw err;
        }
      }
      await this.store.put(spec);
      const r = this.runnerOf(spec);
      this.runners.set(spec.stack, r);
      this.init.target.event("Normal", "Watching", stackObject(spec.stack), `watching ${describe(spec)} as stack ${spec.stack} (sync ${spec.sync}${spec.prune ? "" : ", no prune"}${spec.allow.length ? `, allow ${spec.allow.join(",")}` : ""})`);
      await r.start();
      return r.view();
    });
  }

  unregister(stack: string, options: { keep: boolean }, signal: AbortSignal): Promise<SourceUnregisterResponse> {
    return this.locked(stack, async () => {
      const r = this.runner(stack, "unwatch");
      await r.stop();
      this.runners.delete(stack);
      await this.store.remove(stack);
      if (r.spec.type === "git") await fs.rm(this.cloneDir(stack), { recursive: true, force: true });
      let changes: SourceUnregisterResponse["changes"] = [];
      if (!options.keep) {
        const res = await this.init.target.apply({ stack, files: [], prune: true }, signal);
        changes = res.changes.filter((c) => c.action === "deleted");
      }
      this.init.target.event("Normal", "Unwatched", stackObject(stack), `stopped watching ${describe(r.spec)}${options.keep ? "; its objects keep running" : `; ${changes.length} object${changes.length === 1 ? "" : "s"} deleted`}`);
      return { stack, kept: options.keep, changes };
    });
  }

  sync(stack: string): Promise<SourceSyncResponse> {
    return this.runner(stack, "sync").sync();
  }

  plan(stack: string): Promise<SourcePlan> {
    return this.runner(stack, "diff").planNow();
  }

  private runner(stack: string, verb: string): SourceRunner {
    const r = this.runners.get(stack);
    if (!r) throw notFound(`${verb} stack ${stack}: no source is watched as this stack (\`berth get stacks\` lists them)`);
    return r;
  }

  private cloneDir(stack: string) {
    return path.join(this.init.root, "sources", "git", stack);
  }

  private mirrorOf(spec: SourceSpec): GitMirror {
    return new GitMirror(spec.git!.url, this.cloneDir(spec.stack), spec.git!.branch, this.o.git);
  }

  private runnerOf(spec: SourceSpec): SourceRunner {
    const logger = this.log.child({ source: spec.type });
    if (spec.type === "git") {
      const mirror = this.mirrorOf(spec);
      const dir = spec.git!.path ? path.join(mirror.dir, spec.git!.path) : mirror.dir;
      let commit: string | undefined;
      return new SourceRunner({
        spec,
        clock: this.init.clock,
        logger,
        target: this.init.target,
        dir,
        options: this.o.runner,
        refresh: async () => (commit = await mirror.update()),
        read: async (): Promise<Revision> => ({ ...(await readSourceSet(dir)), ...(commit ? { commit, dirty: false } : {}) }),
      });
    }
    const dir = spec.dir!;
    let top: Promise<string | undefined> | undefined;
    return new SourceRunner({
      spec,
      clock: this.init.clock,
      logger,
      target: this.init.target,
      dir,
      options: this.o.runner,
      watch: (onChange) => this.init.watch(dir, onChange),
      read: async (): Promise<Revision> => {
        top ??= findWorkTree(dir);
        const tree = await top;
        const snapshot = await readSourceSet(dir);
        if (!tree) return snapshot;
        const real = await fs.realpath(dir).catch(() => dir);
        try {
          return { ...snapshot, ...(await workTreeState(tree, path.relative(tree, real) || ".", this.o.git)) };
        } catch (err) {
          logger.warn({ err: errorMessage(err), dir }, "reading the work tree's git state failed");
          return snapshot;
        }
      },
    });
  }

  private locked<T>(stack: string, job: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(stack) ?? Promise.resolve();
    const done = prev.then(job);
    const tail = done.catch(() => {});
    this.locks.set(stack, tail);
    void tail.then(() => {
      if (this.locks.get(stack) === tail) this.locks.delete(stack);
    });
    return done;
  }
}

function describe(s: SourceSpec): string {
  return s.type === "git" ? `${s.git!.url}${s.git!.branch ? ` branch ${s.git!.branch}` : ""}${s.git!.path ? ` path ${s.git!.path}` : ""}` : s.dir!;
}

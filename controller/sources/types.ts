/**
 * GitOps sources: a directory (often a git work tree) or a git remote whose manifests are one
 * stack. A source feeds the desired store through the same apply the API's `POST /v1/apply`
 * uses, and never calls reconcilers.
 */
import type { ApplyRequest, ApplyResponse, EventRecord, HostGrant, SourcePlan, SourceRegisterRequest, SourceSyncResponse, SourceUnregisterResponse, SourceView, SyncMode } from "../api/protocol.js";
import type { Diagnostic } from "../manifests/diagnostics.js";
import type { ManifestText } from "../manifests/load.js";

/** A registration as persisted under `<root>/sources/sources.json`. */
export interface SourceSpec {
  stack: string;
  /** `dir`: a watched directory; `git`: berth's own clone of a remote, fetched on an interval. */
  type: "dir" | "git";
  /** The watched directory (absolute), for `dir`. */
  dir?: string;
  git?: { url: string; branch?: string; path?: string; intervalMs: number };
  sync: SyncMode;
  prune: boolean;
  allow: HostGrant[];
  registeredAt: string;
}

/** One revision of a source: every manifest file read once into memory. */
export interface SourceSnapshot {
  /** sha256 (hex) over the sorted paths and contents, and any read problem: equal hashes, equal sets. */
  hash: string;
  /** Paths relative to the source (as diagnostics name them), baseDir their directory on the host. */
  files: ManifestText[];
  /** Problems reading (a symlink leading out, an unreadable file, limits): a revision with one is not applied. */
  diagnostics: Diagnostic[];
}

/** A snapshot plus what git says about the tree it was read from. */
export interface Revision extends SourceSnapshot {
  commit?: string;
  dirty?: boolean;
}

/**
 * Where sources apply: the controller's service facade (ControllerService.apply, the code
 * path of `POST /v1/apply`), its event log, and a count of the stack's objects.
 */
export interface ApplyTarget {
  apply(req: ApplyRequest, signal: AbortSignal): Promise<ApplyResponse>;
  event(type: EventRecord["type"], reason: string, object: string, message: string): void;
  /** The stack's objects, and how many of them are ready. */
  objects(stack: string): Promise<{ ready: number; total: number }>;
}

/** A started watch of a directory; `close` is idempotent. */
export interface DirWatch {
  /** Resolves once the initial scan is done and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Starts watching `dir` recursively; `onChange` is called for every change (possibly many per edit). */
export type WatchDir = (dir: string, onChange: () => void) => DirWatch;

/** What the API server serves for sources (SourceManager implements it). */
export interface SourcesApi {
  list(): Promise<SourceView[]>;
  get(stack: string): Promise<SourceView>;
  /** Registers, reads the first revision and applies it (or plans it) before resolving. */
  register(req: SourceRegisterRequest, signal: AbortSignal): Promise<SourceView>;
  unregister(stack: string, options: { keep: boolean }, signal: AbortSignal): Promise<SourceUnregisterResponse>;
  sync(stack: string, signal: AbortSignal): Promise<SourceSyncResponse>;
  plan(stack: string, signal: AbortSignal): Promise<SourcePlan>;
}

/** The event log's object for a stack's source. */
export const stackObject = (stack: string) => `stack/${stack}`;

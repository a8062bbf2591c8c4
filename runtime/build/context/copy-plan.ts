import { createHash } from "node:crypto";
import * as posix from "node:path/posix";
import { invalidArgument, notFound, notImplemented } from "../../../lib/errors.js";
import type { Compression } from "../../snapshots/decompress.js";
import { detectArchive } from "./archive-detect.js";
import { resolveChown, parseChmod, type Identity, type IdentityLookup } from "./chown.js";
import { cleanPath } from "./clean-path.js";
import { checkPattern, hasGlobMeta, matchPath } from "./glob.js";
import type { IgnoreMatcher, SourceEntry } from "./types.js";
import type { SourceRoot } from "./walk.js";

/**
 * The COPY/ADD planner: from the (already variable-expanded) instruction, a source tree and
 * the image so far, the ordered entries of the new layer and the content digest of the
 * sources for the build cache. It reads the source tree (safely, through SourceRoot) and
 * asks the caller about the image; it writes nothing. Over 400 lines on purpose: one
 * concern, Docker's nine source/destination cases and their glob, chown and archive rules,
 * which read as a whole.
 *
 * Docker's rules (classic builder and BuildKit agree unless noted):
 * - Each source is expanded with Go's filepath.Match per path component when it has glob
 *   characters; matches are sorted per directory. A pattern that matches nothing is
 *   NotFound naming it (Docker: "no source files were specified"), a plain source that does
 *   not exist too, a malformed pattern InvalidArgument.
 * - More than one source after expansion requires a destination that is a directory by
 *   its spelling: ending in `/`, or `.` or empty (BuildKit; the classic builder wanted the `/`).
 *   Else InvalidArgument "When using COPY with more than one source file, the destination
 *   must be a directory and end with a /". A glob that matches one file does not.
 * - A relative destination is joined to WORKDIR.
 * - A file goes to `<dest>/<name>` when dest ends in `/` or `.` or is a directory in the
 *   image (the caller's isDirInImage), else to dest itself. `<name>` is the last component
 *   the user wrote or the glob matched, also when it is a symlink that was followed.
 * - A directory copies its contents into dest, never the directory itself, whatever the
 *   spelling of dest; glob matches that are directories are flattened into dest the same
 *   way (moby#15858). When dest does not exist yet it gets the source directory's mode and
 *   ownership (BuildKit); an existing directory keeps its own.
 * - A source naming a symlink is followed (inside the tree); symlinks met inside a copied
 *   directory are copied as symlinks.
 * - Ownership: `--chown` for everything; else 0:0 for the build context (Docker resets
 *   the context's ids when it sends it) and the source's own ids for `COPY --from`
 *   (BuildKit keeps them). Mode: the source's permission bits, or `--chmod` for files and
 *   directories (BuildKit applies it to both), never to symlinks.
 * - Missing parent directories of a destination are planned as 0755, owned by the
 *   `--chown` identity or 0:0 (BuildKit's MkdirAll), with origin "parent".
 * - ADD: a local file that is a tar archive by content (archive-detect.ts) is planned as
 *   "extract" into dest (as a directory) instead of copied; files inside a copied directory
 *   are never extracted. URLs (and git sources) are NotImplemented. COPY of a URL is
 *   InvalidArgument as in Docker.
 * - When two sources put something at the same path, the later one wins (as sequential
 *   copies would); a directory over a directory keeps the first one's metadata.
 *
 * Output order: parents before children (sorted by path components), which is also the
 * order of the digest. Paths in the image are lexical: the caller's layer writer resolves
 * them against the image (symlinked directories in the image are its business).
 *
 * The digest is sha256 over a versioned canonical listing of every planned entry: image
 * path, type, mode, uid, gid, link target, and the sha256 of each file's content (archives
 * too, plus their compression). mtimes, host paths and the context's location are not in
 * it, so the same sources elsewhere give the same digest and a chmod changes it. File
 * contents are hashed here; the layer writer must check what it writes against `sha256`
 * (a file may change between planning and writing).
 */

export interface CopyInstruction {
  instruction: "COPY" | "ADD";
  /** Source arguments, variables already expanded. */
  sources: string[];
  dest: string;
  /** The image's WORKDIR so far, absolute ("/" when unset). */
  workdir: string;
  chown?: string;
  chmod?: string;
}

export interface CopyPlanInputs {
  /** The build context, or a stage's / image's rootfs for `COPY --from` (scope "rootfs"). */
  root: SourceRoot;
  /** The context's .dockerignore; none for `COPY --from`. */
  ignore?: IgnoreMatcher;
  /** Whether `imagePath` (absolute, cleaned) is a directory in the image so far. */
  isDirInImage(imagePath: string): boolean | Promise<boolean>;
  /** Name lookups over the image's /etc/passwd and /etc/group, for `--chown` with names. */
  identities?: IdentityLookup;
  /** Keep the sources' uid/gid without --chown. Default: true for "rootfs", false for "context". */
  keepSourceOwnership?: boolean;
  /** Content hashes of files seen before (see ContentHashCache); none: every file is read. */
  hashes?: ContentHashCache;
}

/**
 * Content hashes of source files by what identifies their content without reading it: dev,
 * inode, size, mtime and ctime in nanoseconds (as BuildKit's content hash and git's index
 * do). A write changes the ctime, which cannot be set back, so an entry whose key matches
 * has the content it had. A file changed within the last `RACY_MS` is not stored (a write
 * in the same clock tick as its hashing would keep its ctime: git's "racy" case).
 */
export interface ContentHashCache {
  get(key: string): string | undefined;
  set(key: string, sha256: string): void;
  /** The clock the racy check uses (tests); default Date.now. */
  now?(): number;
}

const RACY_MS = 2000;

export function contentKey(e: SourceEntry): string {
  return `${e.identity}:${e.size}:${e.changeStamp}`;
}

interface PlannedBase {
  /** Absolute, cleaned path in the image. */
  target: string;
  /** "source" for what the sources hold, "parent" for a missing parent of a destination. */
  origin: "source" | "parent";
}

export interface PlannedDir extends PlannedBase {
  type: "dir";
  mode: number;
  uid: number;
  gid: number;
  /** The source directory's mtime; absent for parents (the writer picks the build's time). */
  mtimeMs?: number;
}

export interface PlannedFile extends PlannedBase {
  type: "file";
  mode: number;
  uid: number;
  gid: number;
  /** What to read, with SourceRoot.openFile (which re-checks it). */
  source: SourceEntry;
  size: number;
  mtimeMs: number;
  /** Hex sha256 of the content read while planning. */
  sha256: string;
}

export interface PlannedSymlink extends PlannedBase {
  type: "symlink";
  uid: number;
  gid: number;
  linkTarget: string;
  mtimeMs: number;
}

export interface PlannedExtract extends PlannedBase {
  type: "extract";
  /** The archive; `target` is the directory it is extracted into. */
  source: SourceEntry;
  compression: Compression;
  /** --chown for every extracted entry; without it the archive's own ids are kept. */
  owner?: Identity;
  size: number;
  sha256: string;
}

export type PlannedEntry = PlannedDir | PlannedFile | PlannedSymlink | PlannedExtract;

export interface CopyPlan {
  entries: PlannedEntry[];
  /** `sha256:<hex>` of the sources as planned (see the header). */
  digest: string;
}

/** A source after expansion: what it names and the name it is copied under. */
interface Expanded {
  entry: SourceEntry;
  name: string;
  what: string;
}

const DIGEST_VERSION = "berth.copy-sources.v1";

export async function planCopy(instr: CopyInstruction, inputs: CopyPlanInputs): Promise<CopyPlan> {
  const cmd = instr.instruction;
  if (instr.sources.length === 0) throw invalidArgument(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`);
  const mode = instr.chmod === undefined ? undefined : parseChmod(instr.chmod, cmd);
  const owner = instr.chown === undefined ? undefined : await resolveChown(instr.chown, inputs.identities ?? numericOnly, cmd);
  const keep = inputs.keepSourceOwnership ?? inputs.root.scope === "rootfs";
  for (const src of instr.sources) checkNotRemote(cmd, src);

  const expanded: Expanded[] = [];
  for (const src of instr.sources) expanded.push(...(await expandSource(inputs, cmd, src)));

  const destIsDirBySpelling = instr.dest === "." || instr.dest === "" || instr.dest.endsWith("/");
  if (expanded.length > 1 && !destIsDirBySpelling) {
    throw invalidArgument(`When using ${cmd} with more than one source file, the destination must be a directory and end with a /`, {
      object: { kind: "buildDestination", name: instr.dest },
    });
  }
  const dest = imagePath(instr.workdir, instr.dest);
  const plan = new PlanBuilder(inputs, owner);
  const ids = (e: SourceEntry): Identity => owner ?? (keep ? { uid: e.uid, gid: e.gid } : { uid: 0, gid: 0 });

  for (const src of expanded) {
    const e = src.entry;
    if (e.type === "dir") {
      await plan.parentsOf(dest);
      if (!(await plan.isDir(dest))) plan.put({ type: "dir", target: dest, origin: "source", mode: mode ?? e.mode, ...ids(e), mtimeMs: e.mtimeMs });
      for (const child of await inputs.root.walk(e, { ignore: inputs.ignore, what: src.what })) {
        const target = posix.join(dest, child.path);
        if (child.type === "dir") plan.put({ type: "dir", target, origin: "source", mode: mode ?? child.mode, ...ids(child), mtimeMs: child.mtimeMs });
        else if (child.type === "symlink") plan.put({ type: "symlink", target, origin: "source", ...ids(child), linkTarget: child.linkTarget ?? "", mtimeMs: child.mtimeMs });
        else plan.put(await fileEntry(inputs.root, child, target, mode ?? child.mode, ids(child), src.what, inputs.hashes));
      }
      continue;
    }
    // A file (symlinks named by a source were followed by resolve).
    if (cmd === "ADD") {
      const compression = await detectArchive(inputs.root, e, src.what);
      if (compression !== undefined) {
        await plan.parentsOf(dest);
        if (!(await plan.isDir(dest))) plan.put({ type: "dir", target: dest, origin: "parent", mode: 0o755, ...(owner ?? { uid: 0, gid: 0 }) });
        const { sha256, size } = await hashFile(inputs.root, e, src.what, inputs.hashes);
        plan.put({ type: "extract", target: dest, origin: "source", source: e, compression, size, sha256, ...(owner ? { owner } : {}) });
        continue;
      }
    }
    const intoDir = destIsDirBySpelling || (await plan.isDir(dest));
    const target = intoDir ? posix.join(dest, src.name) : dest;
    await plan.parentsOf(target);
    plan.put(await fileEntry(inputs.root, e, target, mode ?? e.mode, ids(e), src.what, inputs.hashes));
  }
  const entries = plan.sorted();
  return { entries, digest: digestOf(entries) };
}

const numericOnly: IdentityLookup = { user: () => undefined, group: () => undefined };

function checkNotRemote(cmd: string, src: string): void {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(src);
  const isGit = /^git@[^:/]+:/.test(src);
  if (!isUrl && !isGit) return;
  if (cmd === "COPY") throw invalidArgument(`COPY ${src}: source can't be a URL for COPY`, { object: { kind: "buildSource", name: src } });
  throw notImplemented(`ADD ${src}: downloading a URL or git repository is not implemented; fetch it in a RUN step, or download it beside the Dockerfile and COPY it`, {
    object: { kind: "buildSource", name: src },
  });
}

/** The absolute, cleaned image path of a destination (relative ones join WORKDIR). */
export function imagePath(workdir: string, dest: string): string {
  return cleanPath(dest.startsWith("/") ? dest : `${cleanPath(`/${workdir}`)}/${dest}`);
}

/** A source argument → the entries it names (one, or a glob's matches in order). */
async function expandSource(inputs: CopyPlanInputs, cmd: string, src: string): Promise<Expanded[]> {
  const what = `${cmd} ${src}`;
  const { root, ignore } = inputs;
  if (!hasGlobMeta(src)) {
    const entry = await root.resolve(src, { what, ignore });
    return [{ entry, name: entry.path, what }];
  }
  try {
    checkPattern(src);
  } catch (err) {
    throw invalidArgument(`${what}: syntax error in pattern`, { cause: err, object: { kind: "buildSource", name: src } });
  }
  const cleaned = cleanPath(src);
  // The prefix without glob characters is resolved as a plain source (and refused the same
  // way when it leaves the context); the rest is matched one component at a time.
  const comps = cleaned.split("/").filter((c) => c !== "" && c !== ".");
  const firstMeta = comps.findIndex((c) => hasGlobMeta(c));
  const prefix = (cleaned.startsWith("/") ? "/" : "") + comps.slice(0, firstMeta).join("/");
  let candidates: string[] = [prefix === "" ? "." : prefix];
  // The literal prefix is the user's own path: it leaving the tree is an error, not a miss.
  try {
    await root.resolve(candidates[0]!, { what, ignore });
  } catch (err) {
    if ((err as { kind?: string }).kind !== "NotFound") throw err;
    candidates = [];
  }
  for (const comp of comps.slice(firstMeta)) {
    const next: string[] = [];
    for (const cand of candidates) {
      // Every candidate here is a directory to look into. One that is absent, not a
      // directory, or a symlink leading out is not part of the tree to match in, so it is a
      // miss; a final match leading out is refused below, as the pattern named it.
      let dir: SourceEntry;
      try {
        dir = await root.resolve(cand, { what, ignore });
      } catch (err) {
        const kind = (err as { kind?: string }).kind;
        if (kind === "NotFound" || kind === "InvalidArgument") continue;
        throw err;
      }
      if (dir.type !== "dir") continue;
      if (!hasGlobMeta(comp)) {
        next.push(joinUser(cand, comp));
        continue;
      }
      for (const child of await root.list(dir, { ignore, what })) {
        if (matchPath(comp, child.path)) next.push(joinUser(cand, child.path));
      }
    }
    candidates = next;
  }
  const out: Expanded[] = [];
  for (const cand of candidates) {
    try {
      const entry = await root.resolve(cand, { what, ignore });
      out.push({ entry, name: entry.path, what });
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound") continue;
      throw err;
    }
  }
  if (out.length === 0) {
    throw notFound(`${what}: no source files were specified (the pattern matches nothing in ${root.label})`, {
      object: { kind: "buildSource", name: src },
    });
  }
  return out;
}

function joinUser(base: string, name: string): string {
  if (base === ".") return name;
  return base.endsWith("/") ? `${base}${name}` : `${base}/${name}`;
}

async function fileEntry(root: SourceRoot, e: SourceEntry, target: string, mode: number, ids: Identity, what: string, hashes?: ContentHashCache): Promise<PlannedFile> {
  const { sha256, size } = await hashFile(root, e, what, hashes);
  return { type: "file", target, origin: "source", mode, ...ids, source: e, size, mtimeMs: e.mtimeMs, sha256 };
}

async function hashFile(root: SourceRoot, e: SourceEntry, what: string, hashes?: ContentHashCache): Promise<{ sha256: string; size: number }> {
  const key = contentKey(e);
  const known = hashes?.get(key);
  if (known) return { sha256: known, size: e.size };
  const read = await readHash(root, e, what);
  if (hashes && read.size === e.size && (hashes.now?.() ?? Date.now()) - e.ctimeMs > RACY_MS) hashes.set(key, read.sha256);
  return read;
}

async function readHash(root: SourceRoot, e: SourceEntry, what: string): Promise<{ sha256: string; size: number }> {
  const fh = await root.openFile(e, what);
  try {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of fh.createReadStream({ autoClose: false, start: 0 })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
    }
    return { sha256: hash.digest("hex"), size };
  } finally {
    await fh.close();
  }
}

/** Collects planned entries by image path with the collision rules of the header. */
class PlanBuilder {
  private readonly byTarget = new Map<string, PlannedEntry>();
  private readonly dirInImage = new Map<string, boolean>();
  private extracts = 0;

  constructor(
    private readonly inputs: CopyPlanInputs,
    private readonly owner: Identity | undefined,
  ) {}

  /** Whether `p` is a directory once the entries planned so far are applied. */
  async isDir(p: string): Promise<boolean> {
    const planned = this.byTarget.get(p);
    if (planned) return planned.type === "dir";
    return this.inImage(p);
  }

  /** Plans the missing ancestors of `p` (not `p` itself), top down. */
  async parentsOf(p: string): Promise<void> {
    const ancestors: string[] = [];
    for (let d = posix.dirname(p); d !== "/"; d = posix.dirname(d)) ancestors.unshift(d);
    let missing = false;
    for (const d of ancestors) {
      if (!missing && (await this.isDir(d))) continue;
      missing = true;
      if (!this.byTarget.has(d)) this.put({ type: "dir", target: d, origin: "parent", mode: 0o755, ...(this.owner ?? { uid: 0, gid: 0 }) });
    }
  }

  put(entry: PlannedEntry): void {
    if (entry.type === "extract") {
      // Extractions are keyed apart: the directory they land in is planned at their target.
      this.byTarget.set(`${entry.target}\0extract${++this.extracts}`, entry);
      return;
    }
    const prev = this.byTarget.get(entry.target);
    if (prev?.type === "dir" && entry.type === "dir") return;
    if (prev?.type === "dir") {
      const prefix = entry.target === "/" ? "/" : `${entry.target}/`;
      for (const k of [...this.byTarget.keys()]) if (k.startsWith(prefix)) this.byTarget.delete(k);
    }
    this.byTarget.delete(entry.target);
    this.byTarget.set(entry.target, entry);
  }

  sorted(): PlannedEntry[] {
    return [...this.byTarget.values()].sort(compareEntries);
  }

  private async inImage(p: string): Promise<boolean> {
    if (p === "/") return true;
    let v = this.dirInImage.get(p);
    if (v === undefined) {
      v = await this.inputs.isDirInImage(p);
      this.dirInImage.set(p, v);
    }
    return v;
  }
}

/** Parents first: by path components, then a directory before an extraction into it. */
function compareEntries(a: PlannedEntry, b: PlannedEntry): number {
  const ca = a.target.split("/");
  const cb = b.target.split("/");
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const c = Buffer.compare(Buffer.from(ca[i]!), Buffer.from(cb[i]!));
    if (c !== 0) return c;
  }
  if (ca.length !== cb.length) return ca.length - cb.length;
  return rank(a) - rank(b);
}

function rank(e: PlannedEntry): number {
  return e.type === "extract" ? 1 : 0;
}

/** The content digest of planned entries (see the header). Pure. */
export function digestOf(entries: readonly PlannedEntry[]): string {
  const hash = createHash("sha256");
  hash.update(`${DIGEST_VERSION}\n`);
  for (const e of [...entries].sort(compareEntries)) {
    hash.update(`${JSON.stringify(canonical(e))}\n`);
  }
  return `sha256:${hash.digest("hex")}`;
}

function canonical(e: PlannedEntry): unknown[] {
  switch (e.type) {
    case "dir":
      return [e.target, "dir", e.mode, e.uid, e.gid];
    case "file":
      return [e.target, "file", e.mode, e.uid, e.gid, e.sha256];
    case "symlink":
      return [e.target, "symlink", 0o777, e.uid, e.gid, e.linkTarget];
    case "extract":
      return [e.target, "extract", e.compression, e.owner?.uid ?? null, e.owner?.gid ?? null, e.sha256];
  }
}

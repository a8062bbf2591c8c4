import { withoutBuildIntermediates } from "../../runtime/build/executor/cache.js";
import { createReadStream } from "node:fs";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { ApiClient, isNoDaemon, type UploadSource } from "../../controller/api/client.js";
import { invalidArgument } from "../../lib/errors.js";
import { familiarReference } from "../../lib/reference.js";
import { formatSize } from "../../lib/units.js";
import { applyChange } from "../../runtime/images/image-changes.js";
import { imageHistoryOf } from "../../runtime/images/image-history.js";
import type { ImageRuntime } from "../../runtime/images/index.js";
import type { ImageRecord, ImageRuntimeConfig } from "../../runtime/types.js";
import { socketPath } from "../client.js";
import { withImages, type GlobalOptions } from "../local.js";
import { formatTable, humanAgo } from "../table.js";
import { formatHistory, type HistoryOptions } from "./image-history.js";

/** The global options of `berth image`: it works through the daemon when one runs. */
export interface ImageGlobals extends GlobalOptions {
  /** `--socket` / BERTH_SOCKET: overrides `<run-root>/berth.sock`. */
  socket?: string;
  /** `--root` or BERTH_ROOT was given: a daemon serving another root is then not used. */
  rootExplicit?: boolean;
}

/**
 * The daemon to go through, if one listens on the socket (it holds the root lock, so the
 * store is reachable only through it); undefined when none does (no socket file, or nobody
 * listening), and when the daemon serves another root than an explicit `--root` — then the
 * store is opened directly, under the root lock (podman-style). Any other failure to reach
 * the socket (permission denied) is thrown: falling back would only hide it.
 */
export async function daemonFor(g: ImageGlobals): Promise<ApiClient | undefined> {
  const client = new ApiClient(socketPath(g));
  let root: string;
  try {
    root = (await client.version()).root;
  } catch (err) {
    if (isNoDaemon(err)) return undefined;
    throw err;
  }
  if (g.rootExplicit) {
    const mine = await fs.realpath(g.root).catch(() => path.resolve(g.root));
    if (mine !== root) return undefined;
  }
  return client;
}

/** Runs `remote` against the daemon when one serves the root, else `local` on the store under the root lock. */
async function viaDaemonOrLocal<T>(g: ImageGlobals, remote: (client: ApiClient) => Promise<T>, local: (rt: ImageRuntime) => Promise<T>): Promise<T> {
  const client = await daemonFor(g);
  return client ? remote(client) : withImages(g, local);
}

/** The short image ID Docker shows: 12 hex characters of the config digest. */
export const shortId = (img: ImageRecord) => img.configDigest.replace(/^sha256:/, "").slice(0, 12);

function splitRef(ref: string): { repository: string; tag: string } {
  const f = familiarReference(ref);
  const at = f.indexOf("@");
  const base = at >= 0 ? f.slice(0, at) : f;
  const colon = base.lastIndexOf(":");
  return colon > base.lastIndexOf("/") ? { repository: base.slice(0, colon), tag: base.slice(colon + 1) } : { repository: base, tag: "<none>" };
}

export async function imageList(g: ImageGlobals, opts: { quiet: boolean; output: "table" | "json"; all?: boolean }): Promise<number> {
  const images = await viaDaemonOrLocal(
    g,
    (c) => c.listImages({ all: opts.all === true }),
    async (rt) => {
      const all = await rt.images.list();
      // as the daemon lists them: not the untagged images of build steps on the way
      return opts.all ? all : withoutBuildIntermediates(g.root, all);
    },
  );
  if (opts.output === "json") {
    process.stdout.write(JSON.stringify({ items: images }, null, 2) + "\n");
    return 0;
  }
  if (opts.quiet) {
    process.stdout.write([...new Set(images.map(shortId))].map((id) => `${id}\n`).join(""));
    return 0;
  }
  const now = Date.now();
  const rows: string[][] = [];
  for (const img of images) {
    const created = img.created ? humanAgo(Date.parse(img.created), now) : "N/A";
    const refs = img.references.length ? img.references : [""];
    for (const ref of refs) {
      const { repository, tag } = ref ? splitRef(ref) : { repository: "<none>", tag: "<none>" };
      rows.push([repository, tag, shortId(img), created, formatSize(img.size)]);
    }
  }
  rows.sort((a, b) => a[0]!.localeCompare(b[0]!) || a[1]!.localeCompare(b[1]!));
  process.stdout.write(formatTable(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows));
  return 0;
}

export async function imageInspect(g: ImageGlobals, names: string[]): Promise<number> {
  const images = await viaDaemonOrLocal(
    g,
    (c) => c.inspectImages(names),
    (rt) => Promise.all(names.map((n) => rt.images.get(n))),
  );
  process.stdout.write(JSON.stringify(images, null, 2) + "\n");
  return 0;
}

/** `berth image history IMAGE` (image-history.ts has the format). */
export async function imageHistory(g: ImageGlobals, ref: string, opts: HistoryOptions, nowMs = Date.now()): Promise<number> {
  const h = await viaDaemonOrLocal(
    g,
    (c) => c.imageHistory(ref),
    (rt) => imageHistoryOf(rt.images, ref),
  );
  process.stdout.write(formatHistory(h, opts, nowMs));
  return 0;
}

/** Copies standard input to a temp file under the state root (archives need random access). */
async function stdinToFile(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `stdin-${process.pid}-${Date.now()}.tar`);
  const fh = await fs.open(file, "wx", 0o600);
  try {
    for await (const chunk of process.stdin) await fh.write(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return file;
}

/**
 * A directory (an OCI image layout) as a tar stream of its regular files, directories and
 * symlinks, names relative to it, so that it can be uploaded like an archive.
 */
async function tarDirectory(dir: string): Promise<AsyncIterable<Uint8Array>> {
  const { default: tar } = await import("tar-stream");
  const pack = tar.pack();
  const add = (header: Parameters<typeof pack.entry>[0], body?: string) =>
    new Promise<void>((resolve, reject) => {
      if (body === undefined) pack.entry(header, (err) => (err ? reject(err) : resolve()));
      else {
        const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        pipeline(createReadStream(body), entry).catch(reject);
      }
    });
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = await fs.lstat(abs);
      if (st.isDirectory()) {
        await add({ name: `${r}/`, type: "directory", mode: 0o755 });
        await walk(r);
      } else if (st.isSymbolicLink()) await add({ name: r, type: "symlink", linkname: await fs.readlink(abs) });
      else if (st.isFile()) await add({ name: r, type: "file", size: st.size, mode: 0o644 }, abs);
      else throw invalidArgument(`load images from ${dir}: ${r} is not a file, directory or symlink`);
    }
  };
  walk("").then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return pack as AsyncIterable<Uint8Array>;
}

export async function imageLoad(g: ImageGlobals, opts: { input?: string; quiet: boolean }): Promise<number> {
  if (!opts.input && process.stdin.isTTY) throw invalidArgument("load image: no archive given; use -i FILE or pipe one on standard input");
  const fromStdin = !opts.input || opts.input === "-";
  const loaded = await viaDaemonOrLocal(
    g,
    async (c) => {
      let source: UploadSource = process.stdin;
      if (!fromStdin) source = (await fs.stat(opts.input!).catch(() => undefined))?.isDirectory() ? await tarDirectory(opts.input!) : opts.input!;
      return c.loadImages(source);
    },
    async (rt) => {
      const tmp = fromStdin ? await stdinToFile(path.join(g.root, "tmp")) : undefined;
      try {
        return await rt.images.load(tmp ?? opts.input!);
      } finally {
        if (tmp) await fs.rm(tmp, { force: true });
      }
    },
  );
  if (!opts.quiet) {
    // An archive lists an image once per tag: say each line once, as docker load does.
    const lines = new Set<string>();
    for (const img of loaded) {
      if (img.references.length) for (const r of img.references) lines.add(`Loaded image: ${familiarReference(r)}`);
      else lines.add(`Loaded image ID: ${img.configDigest}`);
    }
    for (const l of lines) process.stdout.write(`${l}\n`);
  }
  return 0;
}

export async function imageImport(g: ImageGlobals, file: string, reference: string, opts: { change: string[] }): Promise<number> {
  // Checked here either way: a bad --change fails before any byte is sent.
  let config: ImageRuntimeConfig = {};
  for (const c of opts.change) {
    try {
      config = applyChange(config, c);
    } catch (err) {
      throw invalidArgument(`import image: --change ${JSON.stringify(c)}: ${(err as Error).message}`);
    }
  }
  const img = await viaDaemonOrLocal(
    g,
    (c) => c.importImage(file === "-" ? process.stdin : file, reference, opts.change),
    (rt) => rt.images.importRootfs(file === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : file, reference, { config }),
  );
  process.stdout.write(`${img.configDigest}\n`);
  return 0;
}

export async function imageSave(g: ImageGlobals, names: string[], opts: { output?: string }): Promise<number> {
  if (!opts.output && process.stdout.isTTY) {
    throw invalidArgument("save image: refusing to write an archive to a terminal; use -o FILE or redirect standard output");
  }
  await viaDaemonOrLocal(
    g,
    async (c) => {
      await c.saveImages(names, opts.output ? { file: path.resolve(opts.output) } : { stream: process.stdout });
    },
    async (rt) => {
      if (opts.output) return rt.images.save(names, path.resolve(opts.output));
      const tmp = path.join(g.root, "tmp", `save-${process.pid}-${Date.now()}.tar`);
      await fs.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
      try {
        await rt.images.save(names, tmp);
        await new Promise<void>((resolve, reject) => {
          const rs = createReadStream(tmp);
          rs.on("error", reject);
          rs.pipe(process.stdout, { end: false });
          rs.on("end", () => resolve());
        });
      } finally {
        await fs.rm(tmp, { force: true });
      }
    },
  );
  return 0;
}

export async function imageTag(g: ImageGlobals, source: string, target: string): Promise<number> {
  await viaDaemonOrLocal(
    g,
    (c) => c.tagImage(source, target),
    (rt) => rt.images.tag(source, target),
  );
  return 0;
}

export async function imageRemove(g: ImageGlobals, names: string[], opts: { force: boolean }): Promise<number> {
  const print = (r: { untagged: string[]; deleted: string[] }) => {
    for (const u of r.untagged) process.stdout.write(`Untagged: ${familiarReference(u)}\n`);
    for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
  };
  await viaDaemonOrLocal(
    g,
    async (c) => {
      for (const n of names) print(await c.removeImage(n, { force: opts.force }));
    },
    async (rt) => {
      for (const n of names) print(await rt.images.remove(n, { force: opts.force }));
    },
  );
  return 0;
}

export async function imagePrune(g: ImageGlobals, opts: { all: boolean }): Promise<number> {
  const r = await viaDaemonOrLocal(
    g,
    (c) => c.pruneImages({ all: opts.all }),
    (rt) => rt.images.prune(opts.all ? { all: true } : { dangling: true }),
  );
  process.stdout.write(`Deleted ${r.deletedBlobs} blobs and ${r.deletedSnapshots} layers\nTotal reclaimed space: ${formatSize(r.reclaimedBytes)}\n`);
  return 0;
}

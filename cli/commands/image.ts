import { createReadStream } from "node:fs";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { invalidArgument } from "../../lib/errors.js";
import { familiarReference } from "../../lib/reference.js";
import { formatSize } from "../../lib/units.js";
import type { ImageRecord, ImageRuntimeConfig } from "../../runtime/types.js";
import { applyChange } from "../image-changes.js";
import { withImages, type GlobalOptions } from "../local.js";
import { formatTable, humanAgo } from "../table.js";

/** The short image ID Docker shows: 12 hex characters of the config digest. */
export const shortId = (img: ImageRecord) => img.configDigest.replace(/^sha256:/, "").slice(0, 12);

function splitRef(ref: string): { repository: string; tag: string } {
  const f = familiarReference(ref);
  const at = f.indexOf("@");
  const base = at >= 0 ? f.slice(0, at) : f;
  const colon = base.lastIndexOf(":");
  return colon > base.lastIndexOf("/") ? { repository: base.slice(0, colon), tag: base.slice(colon + 1) } : { repository: base, tag: "<none>" };
}

export async function imageList(g: GlobalOptions, opts: { quiet: boolean; output: "table" | "json" }): Promise<number> {
  const images = await withImages(g, (rt) => rt.images.list());
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

export async function imageInspect(g: GlobalOptions, names: string[]): Promise<number> {
  const images = await withImages(g, (rt) => Promise.all(names.map((n) => rt.images.get(n))));
  process.stdout.write(JSON.stringify(images, null, 2) + "\n");
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

export async function imageLoad(g: GlobalOptions, opts: { input?: string; quiet: boolean }): Promise<number> {
  if (!opts.input && process.stdin.isTTY) throw invalidArgument("load image: no archive given; use -i FILE or pipe one on standard input");
  const loaded = await withImages(g, async (rt) => {
    const tmp = opts.input && opts.input !== "-" ? undefined : await stdinToFile(path.join(g.root, "tmp"));
    try {
      return await rt.images.load(tmp ?? opts.input!);
    } finally {
      if (tmp) await fs.rm(tmp, { force: true });
    }
  });
  if (!opts.quiet) {
    for (const img of loaded) {
      if (img.references.length) for (const r of img.references) process.stdout.write(`Loaded image: ${familiarReference(r)}\n`);
      else process.stdout.write(`Loaded image ID: ${img.configDigest}\n`);
    }
  }
  return 0;
}

export async function imageImport(g: GlobalOptions, file: string, reference: string, opts: { change: string[] }): Promise<number> {
  let config: ImageRuntimeConfig = {};
  for (const c of opts.change) {
    try {
      config = applyChange(config, c);
    } catch (err) {
      throw invalidArgument(`import image: --change ${JSON.stringify(c)}: ${(err as Error).message}`);
    }
  }
  const img = await withImages(g, (rt) =>
    rt.images.importRootfs(file === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : file, reference, { config }),
  );
  process.stdout.write(`${img.configDigest}\n`);
  return 0;
}

export async function imageSave(g: GlobalOptions, names: string[], opts: { output?: string }): Promise<number> {
  if (!opts.output && process.stdout.isTTY) {
    throw invalidArgument("save image: refusing to write an archive to a terminal; use -o FILE or redirect standard output");
  }
  await withImages(g, async (rt) => {
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
  });
  return 0;
}

export async function imageTag(g: GlobalOptions, source: string, target: string): Promise<number> {
  await withImages(g, (rt) => rt.images.tag(source, target));
  return 0;
}

export async function imageRemove(g: GlobalOptions, names: string[], opts: { force: boolean }): Promise<number> {
  await withImages(g, async (rt) => {
    for (const n of names) {
      const r = await rt.images.remove(n, { force: opts.force });
      for (const u of r.untagged) process.stdout.write(`Untagged: ${familiarReference(u)}\n`);
      for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
    }
  });
  return 0;
}

export async function imagePrune(g: GlobalOptions, opts: { all: boolean }): Promise<number> {
  const r = await withImages(g, (rt) => rt.images.prune({ dangling: !opts.all }));
  process.stdout.write(`Deleted ${r.deletedBlobs} blobs and ${r.deletedSnapshots} layers\nTotal reclaimed space: ${formatSize(r.reclaimedBytes)}\n`);
  return 0;
}

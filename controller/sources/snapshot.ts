import { createHash } from "node:crypto";
import { constants as fsc, promises as fs } from "node:fs";
import * as path from "node:path";
import type { Diagnostic } from "../manifests/diagnostics.js";
import { defaultLoadLimits, type LoadLimits, type ManifestText } from "../manifests/load.js";
import type { SourceSnapshot } from "./types.js";

/** The manifests of a source: YAML only (a Compose file is YAML too). */
const SOURCE_EXT = new Set([".yaml", ".yml"]);

/** Whether a path relative to a source's root is something a source reads or watches (no hidden segment). */
export function isSourcePath(rel: string): boolean {
  return rel.split(/[\\/]/).every((seg) => !seg.startsWith(".") || seg === "." || seg === "");
}

export function isManifestName(name: string): boolean {
  return SOURCE_EXT.has(path.extname(name).toLowerCase());
}

const problem = (file: string, message: string): Diagnostic => ({ severity: "error", file, line: 0, column: 0, path: "", message });

/**
 * Reads every `.yaml`/`.yml` file under `root` (recursively, sorted, hidden entries such as
 * `.git` skipped) once into memory, and hashes the set. A symlink whose target is outside
 * `root` is refused (a diagnostic, and the file is not read); a symlink inside is followed once
 * (directory loops are cut). Files are opened with O_NOFOLLOW, so an entry swapped for a
 * symlink between the walk and the read is refused too. Nothing throws for what is in the
 * tree; a missing root is a diagnostic. The files are named by their path relative to `root`.
 */
export async function readSourceSet(root: string, limits: Partial<LoadLimits> = {}): Promise<SourceSnapshot> {
  const lim = { ...defaultLoadLimits(), ...limits };
  const files: ManifestText[] = [];
  const diagnostics: Diagnostic[] = [];
  let realRoot: string;
  try {
    realRoot = await fs.realpath(root);
    if (!(await fs.stat(realRoot)).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (err) {
    diagnostics.push(problem(root, `cannot read the source directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    return { hash: hashOf(files, diagnostics), files, diagnostics };
  }
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot.endsWith("/") ? realRoot : `${realRoot}/`);
  const visited = new Set<string>();
  let total = 0;

  const readFile = async (rel: string, real: string) => {
    if (files.length >= lim.maxFiles) return void diagnostics.push(problem(rel, `more than ${lim.maxFiles} manifest files`));
    let fh: fs.FileHandle | undefined;
    try {
      fh = await fs.open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      const st = await fh.stat();
      if (!st.isFile()) return void diagnostics.push(problem(rel, "not a regular file"));
      if (st.size > lim.maxFileBytes) return void diagnostics.push(problem(rel, `file is ${st.size} bytes, over the limit of ${lim.maxFileBytes} bytes`));
      total += st.size;
      if (total > lim.maxTotalBytes) return void diagnostics.push(problem(rel, `manifests add up to over ${lim.maxTotalBytes} bytes`));
      const buf = await fh.readFile();
      files.push({ file: rel, text: buf.toString("utf8"), baseDir: path.dirname(real) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // vanished between the walk and the read: it is not part of this revision (the watch reports the change)
      if (code === "ENOENT") return;
      diagnostics.push(problem(rel, code === "ELOOP" ? "became a symlink while being read; refused" : `cannot read: ${code ?? (err as Error).message}`));
    } finally {
      await fh?.close();
    }
  };

  const walk = async (realDir: string, relDir: string) => {
    if (visited.has(realDir)) return;
    visited.add(realDir);
    let entries;
    try {
      entries = await fs.readdir(realDir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      return void diagnostics.push(problem(relDir || ".", `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const p = path.join(realDir, e.name);
      if (e.isSymbolicLink()) {
        const target = await fs.realpath(p).catch(() => undefined);
        if (target === undefined) continue; // dangling: nothing to read
        if (!inside(target)) {
          const st = await fs.stat(target).catch(() => undefined);
          if (st?.isDirectory() || isManifestName(e.name)) diagnostics.push(problem(rel, `symlink leads out of the source (to ${target}); refused`));
          continue;
        }
        const st = await fs.stat(target).catch(() => undefined);
        if (st?.isDirectory()) await walk(target, rel);
        else if (st?.isFile() && isManifestName(e.name)) await readFile(rel, target);
      } else if (e.isDirectory()) {
        await walk(p, rel);
      } else if (e.isFile() && isManifestName(e.name)) {
        await readFile(rel, p);
      }
    }
  };
  await walk(realRoot, "");
  return { hash: hashOf(files, diagnostics), files, diagnostics };
}

/** sha256 over each file's path and content and each read problem, in order. */
function hashOf(files: ManifestText[], diagnostics: Diagnostic[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`f\0${f.file}\0${Buffer.byteLength(f.text)}\0`);
    h.update(f.text);
  }
  for (const d of diagnostics) h.update(`e\0${d.file}\0${d.message}\0`);
  return h.digest("hex");
}

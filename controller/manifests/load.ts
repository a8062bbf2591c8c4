/**
 * Reading manifests: files, directories and stdin into texts (capped, symlinks out of a
 * directory refused), then the one pipeline every text goes through — parse with positions,
 * Compose files converted (compose/), validate, normalize, the host-access policy — into
 * objects or located diagnostics. The CLI and the daemon both call it, so an apply is judged
 * the same on both sides. Just over 400 lines: the pipeline's steps are in their modules;
 * what is here is their order and the file reading, one concern.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { formatPath, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { berthPathsOf, hostBindErrors, type BerthPaths, type HostBindOptions } from "./host-binds.js";
import { hostNamespaceErrors, type HostNamespaces } from "./host-namespaces.js";
import { objectKey, type AnyObject, type ContainerObject } from "./model.js";
import { normalizeObject } from "./normalize.js";
import type { GrantHint } from "./normalize/types.js";
import { defaultParseLimits, locate, parseManifestText, type ParseLimits } from "./parse.js";
import { validateObject, type FieldError } from "./validate.js";
import { composeProjects, composeTextPath, isComposeText, loadCompose, type ComposeLoad, type HostGrant } from "./compose/index.js";
import { decodeComposeBundle, encodeComposeBundle, readComposeBundle, syncComposeReader } from "./compose/bundle.js";
import type { Place } from "./compose/origins.js";

export interface LoadOptions {
  /** Descend into subdirectories of directory arguments (kubectl -R). */
  recursive?: boolean;
  /** Accept privileged containers. */
  allowPrivileged?: boolean;
  /** Accept bind sources that expose the host (`/`, `/proc`, an engine socket, an ancestor of berth's state): host-binds.ts. */
  allowHostBinds?: boolean;
  /** What a refusal of privileged or host binds suggests (default: the daemon's and apply's flags; a GitOps source: its --allow). */
  grantHint?: GrantHint;
  /** Host namespaces containers may join (networkMode/pid/ipc host); unset: all (host-namespaces.ts). */
  hostNamespaces?: HostNamespaces;
  /** berth's own paths, which bind sources must not expose; unset ones are the CLI's defaults. */
  berthPaths?: Partial<BerthPaths>;
  /** Where `-` reads from. */
  stdin?: Readable;
  /** Compose files: the project name (`-p`/`--stack`), profiles (`--profile`) and the environment they interpolate from (default process.env). */
  compose?: ComposeOptions;
  limits?: Partial<LoadLimits>;
}

export interface ComposeOptions {
  projectName?: string;
  profiles?: string[];
  env?: Record<string, string | undefined>;
}

export interface LoadLimits extends ParseLimits {
  /** Bytes over all files of one load. */
  maxTotalBytes: number;
  /** Files of one load. */
  maxFiles: number;
}

export function defaultLoadLimits(): LoadLimits {
  return { ...defaultParseLimits(), maxTotalBytes: 64 * 1024 * 1024, maxFiles: 10_000 };
}

export interface LoadResult {
  /** Valid objects, normalized, in input order. Empty when any error was found. */
  objects: AnyObject[];
  /** Every problem found, sorted by file and position. */
  diagnostics: Diagnostic[];
  /** Files read, in order. */
  files: string[];
  /** Compose files only: what in them hands a container the host, for `berth convert`. */
  hostGrants?: (HostGrant & { place?: Place })[];
  /** The stack of the first Compose file (its project name as a berth name). */
  composeStack?: string;
  /** The objects Compose files became, in berth's input form (what `berth convert` prints), when valid. */
  composeInputs?: Record<string, unknown>[];
}

export interface ManifestText {
  file: string;
  text: string;
  /** Directory relative paths inside the manifests resolve against. */
  baseDir: string;
}

const MANIFEST_EXT = new Set([".yaml", ".yml", ".json"]);

function fileError(file: string, message: string, suggestion?: string): Diagnostic {
  return { severity: "error", file, line: 0, column: 0, path: "", message, ...(suggestion ? { suggestion } : {}) };
}

async function readCapped(stream: Readable, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    n += b.length;
    if (n > max) {
      stream.destroy();
      return undefined;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Reads manifest files: files as given, directories by their .yaml/.yml/.json entries
 * (sorted; hidden ones skipped; subdirectories with `recursive`), `-` from stdin.
 * Problems reading are diagnostics; nothing throws for user error.
 */
export async function readManifestInputs(
  inputs: string[],
  options: LoadOptions = {},
): Promise<{ texts: ManifestText[]; diagnostics: Diagnostic[] }> {
  const limits = { ...defaultLoadLimits(), ...options.limits };
  const texts: ManifestText[] = [];
  const diagnostics: Diagnostic[] = [];
  let total = 0;
  const visitedDirs = new Set<string>();
  /** Texts of files given as such (not found in a directory): Compose merges those as one project. */
  const given = new Set<ManifestText>();

  const readOne = async (file: string) => {
    if (texts.length >= limits.maxFiles) {
      diagnostics.push(fileError(file, `more than ${limits.maxFiles} manifest files`));
      return;
    }
    let fh: fs.FileHandle | undefined;
    try {
      fh = await fs.open(file, "r");
      const st = await fh.stat();
      if (st.size > limits.maxFileBytes) {
        diagnostics.push(fileError(file, `file is ${st.size} bytes, over the limit of ${limits.maxFileBytes} bytes`, "split it into several files"));
        return;
      }
      total += st.size;
      if (total > limits.maxTotalBytes) {
        diagnostics.push(fileError(file, `manifests add up to over ${limits.maxTotalBytes} bytes`));
        return;
      }
      const buf = Buffer.alloc(st.size);
      const { bytesRead } = await fh.read(buf, 0, st.size, 0);
      texts.push({ file, text: buf.subarray(0, bytesRead).toString("utf8"), baseDir: path.dirname(path.resolve(file)) });
    } catch (err) {
      diagnostics.push(fileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    } finally {
      await fh?.close();
    }
  };

  const walkDir = async (dir: string, depth: number) => {
    const real = await fs.realpath(dir);
    if (visitedDirs.has(real)) return;
    visitedDirs.add(real);
    const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = path.join(dir, e.name);
      const st = await fs.stat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (options.recursive) await walkDir(p, depth + 1);
      } else if (st.isFile() && MANIFEST_EXT.has(path.extname(e.name).toLowerCase())) {
        await readOne(p);
      }
    }
  };

  for (const input of inputs) {
    if (input === "-") {
      const text = await readCapped(options.stdin ?? process.stdin, limits.maxFileBytes);
      if (text === undefined) diagnostics.push(fileError("<stdin>", `input is over the limit of ${limits.maxFileBytes} bytes`));
      else texts.push({ file: "<stdin>", text, baseDir: process.cwd() });
      continue;
    }
    const st = await fs.stat(input).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      diagnostics.push(fileError(input, st.code === "ENOENT" ? "no such file or directory" : `cannot read: ${st.code ?? st.message}`));
    } else if (st.isDirectory()) {
      const before = texts.length;
      await walkDir(input, 0);
      if (texts.length === before && !diagnostics.some((d) => d.file.startsWith(input))) {
        diagnostics.push({ ...fileError(input, "no .yaml, .yml or .json files in this directory", options.recursive ? undefined : "use -R to include subdirectories"), severity: "warning" });
      }
    } else {
      const before = texts.length;
      await readOne(input);
      for (const t of texts.slice(before)) given.add(t);
    }
  }
  // Each Compose project travels as one bundle, its root's, with its override files in it.
  const merged = new Set<ManifestText>();
  const bundled = new Map<ManifestText, string>();
  for (const { root, overrides } of composeProjects(texts.filter((t) => isComposeText(t.file, t.text)), (t) => given.has(t))) {
    const bundle = await readComposeBundle(root, { ...options.compose, limits, ...(overrides.length ? { overrides: overrides.map(composeTextPath) } : {}) });
    diagnostics.push(...bundle.diagnostics);
    bundled.set(root, encodeComposeBundle(bundle.bundle));
    for (const o of overrides) merged.add(o);
  }
  return { texts: texts.filter((t) => !merged.has(t)).map((t) => (bundled.has(t) ? { ...t, text: bundled.get(t)! } : t)), diagnostics };
}

type PlaceFn = (segs: (string | number)[], key?: boolean) => { file: string; line: number; column: number };

interface Loaded {
  object: AnyObject;
  place: PlaceFn;
}

/** Parses, validates and normalizes manifest texts (Compose files converted first), then checks the set as a whole. */
export function loadManifestTexts(texts: ManifestText[], options: LoadOptions = {}): LoadResult {
  const limits = { ...defaultLoadLimits(), ...options.limits };
  const diagnostics: Diagnostic[] = [];
  const loaded: Loaded[] = [];
  const hostBinds = hostBindOptionsOf(options);
  const grants: NonNullable<LoadResult["hostGrants"]> = [];
  const composeInputs: Record<string, unknown>[] = [];
  let composeStack: string | undefined;

  /** One object's data (a document, or what a Compose service became): validated, normalized, checked, or its errors placed. */
  const take = (value: Record<string, unknown>, baseDir: string, place: PlaceFn, source: { file: string; line: number; column: number }) => {
    const name = (value as { metadata?: { name?: unknown } })?.metadata?.name;
    const kind = value?.kind;
    const label = typeof kind === "string" && typeof name === "string" ? `${kind.toLowerCase()}/${name}` : undefined;
    const placed = (errors: FieldError[]) => diagnostics.push(...errors.map((fe) => placeError(place, label, fe)));
    const fieldErrors = validateObject(value);
    if (fieldErrors.length) {
      placed([...fieldErrors, ...semanticErrorsDespite(fieldErrors, value, baseDir, options, hostBinds)]);
      return;
    }
    const { object, errors } = normalizeObject(value, { baseDir, allowPrivileged: options.allowPrivileged ?? false, ...(options.grantHint ? { grantHint: options.grantHint } : {}) });
    if (errors.length || !object) {
      placed(errors);
      return;
    }
    const refused = [...objectHostBindErrors(object, value, hostBinds), ...hostNamespaceErrors(value, options.hostNamespaces)];
    if (refused.length) {
      placed(refused);
      return;
    }
    object.source = source;
    loaded.push({ object, place });
  };

  // Plain Compose texts (a watched source's): one project per directory, its override files merged over it.
  const plainCompose = texts.filter((t) => !decodeComposeBundle(t.text) && isComposeText(t.file, t.text));
  const overridesOf = new Map<ManifestText, ManifestText[]>();
  const mergedTexts = new Set<ManifestText>();
  for (const { root, overrides } of composeProjects(plainCompose, () => false)) {
    overridesOf.set(root, overrides);
    for (const o of overrides) mergedTexts.add(o);
  }
  for (const t of texts) {
    if (mergedTexts.has(t)) continue;
    const bundle = decodeComposeBundle(t.text);
    if (bundle || isComposeText(t.file, t.text)) {
      const plainLoad = () => {
        const reader = syncComposeReader(t.baseDir, options.compose, limits);
        // The overrides are read from the texts given (a source's snapshot), not the disk again.
        const inMemory = new Map((overridesOf.get(t) ?? []).map((o) => [composeTextPath(o), o.text]));
        const readFile = (abs: string) => inMemory.get(abs) ?? reader.readFile(abs);
        return loadCompose({ file: t.file, text: t.text, baseDir: t.baseDir }, { ...reader, readFile, ...(inMemory.size ? { overrides: [...inMemory.keys()] } : {}), limits, berthPaths: hostBinds.berthPaths });
      };
      const c = bundle ? loadCompose({ file: t.file, text: bundle.text, baseDir: t.baseDir }, { ...bundle.options, limits, berthPaths: hostBinds.berthPaths }) : plainLoad();
      diagnostics.push(...c.diagnostics);
      composeStack ??= c.stack;
      grants.push(...c.grants);
      for (const o of c.objects) {
        const place = composePlace(c, o, t.file);
        take(o.value as Record<string, unknown>, t.baseDir, place, place([]));
        composeInputs.push(o.value as Record<string, unknown>);
      }
      continue;
    }
    const { documents, diagnostics: parseDiags } = parseManifestText(t.file, t.text, limits);
    diagnostics.push(...parseDiags);
    for (const parsed of documents) {
      const place: PlaceFn = (segs, key) => ({ file: parsed.file, ...locate(parsed, segs, key ? { key } : {}) });
      take(parsed.value as Record<string, unknown>, t.baseDir, place, place([]));
    }
  }
  diagnostics.push(...checkSet(loaded));
  const ok = !diagnostics.some((d) => d.severity === "error");
  return {
    objects: ok ? loaded.map((l) => l.object) : [],
    diagnostics: sortDiagnostics(diagnostics),
    files: texts.map((t) => t.file),
    ...(grants.length ? { hostGrants: grants } : {}),
    ...(composeStack ? { composeStack } : {}),
    ...(ok && composeInputs.length ? { composeInputs } : {}),
  };
}

function composePlace(c: ComposeLoad, o: ComposeLoad["objects"][number], file: string): PlaceFn {
  return (segs, key) => c.place(o, segs, key) ?? { file, line: 0, column: 0 };
}

function placeError(place: PlaceFn, object: string | undefined, fe: FieldError): Diagnostic {
  const pos = place(fe.missing ? fe.path.slice(0, -1) : fe.path, fe.atKey);
  const d: Diagnostic = { severity: "error", file: pos.file, line: pos.line, column: pos.column, path: formatPath(fe.path), message: fe.message };
  if (object) d.object = object;
  if (fe.suggestion) d.suggestion = fe.suggestion;
  return d;
}

/**
 * The semantic errors of an object that also has schema errors, so that one run reports
 * everything: normalization is tried on the invalid data, and only its errors on fields
 * untouched by a schema error are kept (the others would be noise or duplicates).
 */
function semanticErrorsDespite(schemaErrors: FieldError[], value: unknown, baseDir: string, options: LoadOptions, hostBinds: HostBindOptions): FieldError[] {
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== "string" || schemaErrors.some((e) => e.path.length < 2)) return [];
  let errors: FieldError[];
  try {
    const n = normalizeObject(value as Record<string, unknown>, { baseDir, allowPrivileged: options.allowPrivileged ?? false, ...(options.grantHint ? { grantHint: options.grantHint } : {}) });
    errors = n.object ? objectHostBindErrors(n.object, value, hostBinds) : n.errors;
  } catch {
    return []; // the data is not in a shape normalization can read: the schema errors say why
  }
  const overlaps = (a: (string | number)[], b: (string | number)[]) => a.slice(0, Math.min(a.length, b.length)).every((s, i) => s === b[i]);
  return errors.filter((e) => !schemaErrors.some((s) => overlaps(s.missing ? s.path.slice(0, -1) : s.path, e.path)));
}

function hostBindOptionsOf(options: LoadOptions): HostBindOptions {
  return { allowHostBinds: options.allowHostBinds ?? false, berthPaths: berthPathsOf(options.berthPaths), ...(options.grantHint ? { grantHint: options.grantHint } : {}) };
}

/** The refused bind sources of a normalized object (Containers only have bind mounts). */
function objectHostBindErrors(object: AnyObject, value: unknown, o: HostBindOptions): FieldError[] {
  if (object.kind !== "Container") return [];
  const input = (value as { spec?: { mounts?: unknown } }).spec?.mounts;
  return hostBindErrors(object.spec.mounts, Array.isArray(input) ? input : undefined, o);
}

/** Reads and loads manifests in one step. */
export async function loadManifests(inputs: string[], options: LoadOptions = {}): Promise<LoadResult> {
  const { texts, diagnostics } = await readManifestInputs(inputs, options);
  const result = loadManifestTexts(texts, options);
  return { ...result, objects: diagnostics.some((d) => d.severity === "error") ? [] : result.objects, diagnostics: sortDiagnostics([...diagnostics, ...result.diagnostics]) };
}

/** Checks that need the whole set: unique names, dependency cycles, host port clashes, image references. */
function checkSet(loaded: Loaded[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (l: Loaded, segs: (string | number)[], message: string, suggestion?: string) => {
    const pos = l.place(segs);
    out.push({
      severity: "error",
      file: pos.file,
      line: pos.line,
      column: pos.column,
      object: objectKey(l.object),
      path: formatPath(segs),
      message,
      ...(suggestion ? { suggestion } : {}),
    });
  };
  const where = (o: AnyObject) => (o.source ? `${o.source.file}:${o.source.line}:${o.source.column}` : "another document");

  const byKey = new Map<string, AnyObject>();
  for (const l of loaded) {
    const key = objectKey(l.object);
    const first = byKey.get(key);
    if (first) at(l, ["metadata", "name"], `${key} is defined twice; first at ${where(first)}`, "rename or remove one of them");
    else byKey.set(key, l.object);
  }

  const imageRefs = new Map<string, AnyObject>();
  for (const l of loaded) {
    if (l.object.kind !== "Image") continue;
    const first = imageRefs.get(l.object.spec.reference);
    if (first) at(l, ["spec"], `image ${l.object.spec.reference} is also produced by ${objectKey(first)} at ${where(first)}`);
    else imageRefs.set(l.object.spec.reference, l.object);
  }

  const containers = loaded.filter((l): l is Loaded & { object: ContainerObject } => l.object.kind === "Container");
  const ctrByName = new Map(containers.map((l) => [l.object.metadata.name, l]));
  for (const l of containers) {
    l.object.spec.dependsOn.forEach((d, i) => {
      if (d.name === l.object.metadata.name) at(l, ["spec", "dependsOn", i], "a container cannot depend on itself");
    });
    const mode = l.object.spec.networkMode;
    if (mode?.startsWith("container:") && mode.slice("container:".length) === l.object.metadata.name) {
      at(l, ["spec", "networkMode"], "a container cannot share its own network");
    }
  }
  // Cycles: depth-first search over dependsOn edges inside the set.
  const state = new Map<string, "visiting" | "done">();
  const reported = new Set<string>();
  const visit = (name: string, stack: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const key = [...cycle].sort().join(",");
      if (!reported.has(key)) {
        reported.add(key);
        const l = ctrByName.get(name)!;
        const idx = l.object.spec.dependsOn.findIndex((d) => d.name === cycle[1]);
        at(l, ["spec", "dependsOn", Math.max(0, idx)], `dependency cycle: ${cycle.join(" → ")}`);
      }
      return;
    }
    state.set(name, "visiting");
    for (const d of ctrByName.get(name)?.object.spec.dependsOn ?? []) {
      if (d.name !== name && ctrByName.has(d.name)) visit(d.name, [...stack, name]); // self-dependency is reported above
    }
    state.set(name, "done");
  };
  for (const name of ctrByName.keys()) visit(name, []);

  // Two bindings clash on the same port and protocol when their addresses are equal or either is the wildcard.
  const bound = new Map<string, { ip: string; l: (typeof containers)[number] }[]>();
  for (const l of containers) {
    for (const m of l.object.spec.ports) {
      if (m.hostPort === undefined) continue;
      const key = `${m.hostPort}/${m.protocol}`;
      const ip = m.hostIP ?? "*";
      const list = bound.get(key) ?? [];
      const clash = list.find((b) => b.l !== l && (b.ip === ip || b.ip === "*" || ip === "*"));
      if (clash) {
        at(l, ["spec", "ports"], `host port ${key} is also published by ${objectKey(clash.l.object)}`);
        break;
      }
      list.push({ ip, l });
      bound.set(key, list);
    }
  }
  return out;
}

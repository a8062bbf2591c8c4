/**
 * Loading a Compose project, as Compose v2 (compose-go) does, before any conversion:
 *
 * 1. the project's `.env` (dotenv syntax, env-file.ts) under the invoking environment, which
 *    wins over it; that is the environment of interpolation;
 * 2. each file parsed with positions (parse.ts: limits, alias bombs, duplicate keys; `<<`
 *    merge keys; `!reset` and `!override` tags), interpolated in place (interpolate.ts),
 *    relative paths resolved against the file's directory, then validated against the
 *    Compose Specification's schema;
 * 3. `extends` (same file or another) merged with Compose's merge rules; top-level `include`
 *    loaded as sub-projects (their own directory and `.env`) and their resources added, a
 *    resource defined twice being an error; then the override files (`-f a -f b`,
 *    `compose.override.yaml`), each loaded the same way, merged over the model in order by
 *    the same rules (a service, network, volume, secret or config per name; `!reset` and
 *    `!override` honoured);
 * 4. the project name: `-p`/`--stack`, COMPOSE_PROJECT_NAME, `name:`, else the directory's
 *    name normalized; profiles: a service with `profiles` is on only when one is enabled.
 *
 * Pure over `options.readFile` and `options.env`: the same inputs give the same project.
 * Problems are located diagnostics; nothing throws for user error (FileNotRead is the
 * reader's request for a file, not an error).
 *
 * Over 400 lines on purpose: one concern, building the project model (env, files, extends,
 * include, override files, profiles) with every value's place kept for located errors — the
 * merge rules are shared by extends and the override files, so they stay with both;
 * converting it is convert.ts's.
 */
import * as path from "node:path";
import { isMap, isPair, isScalar, isSeq, Scalar, type Document, type Node as YamlNode } from "yaml";
import { formatPath, type Diagnostic } from "../diagnostics.js";
import { locate as locateFn, parseManifestText, type ParsedDocument } from "../parse.js";
import type { Seg } from "../problems.js";
import { fieldErrorsOf } from "../validate.js";
import { parseEnvFile } from "./env-file.js";
import { interpolate, type Lookup } from "./interpolate.js";
import { Origins, type Origin, type Place } from "./origins.js";
import { composeSchemaErrors } from "./schema.js";
import type { ComposeLoadOptions, ComposeText } from "./types.js";

export type Model = Record<string, unknown>;
type Obj = Record<string, unknown>;

export interface ComposeProject {
  /** The Compose project name (`shop`, `my_app`). */
  name: string;
  /** The project directory. */
  dir: string;
  /** The merged model: interpolated, paths absolute, extends and include applied. */
  model: Model;
  /** Services off because of their profiles. */
  disabled: Set<string>;
  origins: Origins;
  /** The interpolation environment (invoking environment over `.env`). */
  env: Lookup;
  /** The file of the root project, as diagnostics name it. */
  file: string;
}

const TAGS = ["!reset", "!override"] as const;
type Tag = (typeof TAGS)[number];
const CUSTOM_TAGS = TAGS.flatMap((tag) => [
  { tag, resolve: (s: string) => s },
  { tag, collection: "map" as const, resolve: <T>(m: T) => m },
  { tag, collection: "seq" as const, resolve: <T>(m: T) => m },
]);

const PROJECT_NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;

/** Compose's normalization of a directory name into a project name (lowercase, only [a-z0-9_-], starting with a letter or digit). */
export function normalizeProjectName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, "").replace(/^[_-]+/, "");
}

/** Loads the project of one root Compose file. */
export class ProjectLoader {
  readonly diagnostics: Diagnostic[] = [];
  readonly origins = new Origins();
  /** Parent object → key → tag, for `!reset` / `!override`. */
  private readonly tags = new WeakMap<object, Map<string, Tag>>();
  private readonly warnedUnset = new Set<string>();

  constructor(
    private readonly root: ComposeText,
    private readonly options: ComposeLoadOptions,
  ) {}

  /** The text of a file the project refers to (an env file), undefined when it does not exist. */
  readFile(abs: string): string | undefined {
    return this.options.readFile(abs);
  }

  /** The name a file is shown by: relative to the root file's, as the user wrote it. */
  display(abs: string): string {
    const rel = path.relative(this.root.baseDir, abs);
    return rel.startsWith("..") ? abs : path.join(path.dirname(this.root.file), rel);
  }

  error(place: Place | undefined, p: Seg, message: string, suggestion?: string, severity: "error" | "warning" = "error"): void {
    this.diagnostics.push({
      severity,
      file: place?.file ?? this.root.file,
      line: place?.line ?? 0,
      column: place?.column ?? 0,
      path: formatPath(p),
      message,
      ...(suggestion ? { suggestion } : {}),
    });
  }

  load(): ComposeProject | undefined {
    const dir = this.root.baseDir;
    const env = this.environment(dir, [path.join(dir, ".env")], false);
    const model = this.loadFile(path.join(dir, path.basename(this.root.file)), this.root.text, this.root.file, env, new Set());
    if (!model) return undefined;
    let overridesOk = true;
    for (const f of this.options.overrides ?? []) {
      const text = this.options.readFile(f);
      if (text === undefined) {
        this.error({ file: this.display(f), line: 0, column: 0 }, [], `override file ${this.display(f)} not found`);
        overridesOk = false;
        continue;
      }
      const over = this.loadFile(f, text, this.display(f), env, new Set(), dir);
      if (!over) overridesOk = false;
      else this.mergeOverride(model, over);
    }
    if (!overridesOk) return undefined;
    const name = this.projectName(model, env, dir);
    if (name === undefined) return undefined;
    const disabled = this.applyProfiles(model, env);
    return { name, dir, model, disabled, origins: this.origins, env, file: this.root.file };
  }

  /** The invoking environment over the env files (later files win among them). */
  private environment(dir: string, files: string[], required: boolean): Lookup {
    const fromFiles = new Map<string, string>();
    for (const f of files) {
      const text = this.options.readFile(f);
      if (text === undefined) {
        if (required) this.error(undefined, [], `env file ${this.display(f)} not found`);
        continue;
      }
      const r = parseEnvFile(text, (n) => this.options.env(n) ?? fromFiles.get(n));
      for (const e of r.errors) this.diagnostics.push({ severity: "error", file: this.display(f), line: e.line, column: e.column, path: "", message: e.message });
      for (const e of r.entries) fromFiles.set(e.name, e.value);
    }
    void dir;
    return (n) => this.options.env(n) ?? fromFiles.get(n);
  }

  /**
   * One file: parsed, interpolated, resolved, validated, then its extends and includes.
   * `chain` holds the files on the way here (include cycles).
   */
  private loadFile(abs: string, text: string, display: string, env: Lookup, chain: Set<string>, pathsDir = path.dirname(abs)): Model | undefined {
    const { documents, diagnostics } = parseManifestText(display, text, this.options.limits, { customTags: CUSTOM_TAGS });
    this.diagnostics.push(...diagnostics);
    if (diagnostics.some((d) => d.severity === "error")) return undefined;
    if (documents.length !== 1) {
      this.error({ file: display, line: documents[1]?.doc.range ? documents[1].lineCounter.linePos(documents[1].doc.range[0]).line : 0, column: 1 }, [],
        documents.length === 0 ? "the Compose file is empty" : "a Compose file has one YAML document; this one has several", documents.length ? "split it into several files and use include" : undefined);
      return undefined;
    }
    const parsed = documents[0]!;
    const model = parsed.value;
    if (model === null || typeof model !== "object" || Array.isArray(model)) {
      this.error(this.placeIn(parsed, []), [], "expected a mapping with services at the top of a Compose file");
      return undefined;
    }
    this.origins.register(model, parsed, []);
    this.collectTags(parsed, model as Model);
    const before = this.diagnostics.length;
    this.interpolateAll(parsed, model as Model, env);
    if (this.diagnostics.slice(before).some((d) => d.severity === "error")) return undefined;
    const dir = path.dirname(abs);
    resolveRelativePaths(model as Model, pathsDir, env);
    if (!this.validate(parsed, model as Model)) return undefined;
    const m = model as Model;
    this.resolveExtends(m, abs, display, env, chain);
    this.resolveIncludes(m, abs, dir, env, new Set([...chain, abs]));
    return m;
  }

  private placeIn(parsed: ParsedDocument, p: Seg, key = false): Place {
    const o: Origin = { parsed, path: p };
    return this.placeOrigin(o, key);
  }

  private placeOrigin(o: Origin, key = false): Place {
    const pos = locateIn(o, key);
    return { file: o.parsed.file, ...pos };
  }

  /** Where model path `p` (under `root`) was written. */
  place(root: unknown, p: Seg, key = false): Place | undefined {
    return this.origins.place(root, p, { key });
  }

  private collectTags(parsed: ParsedDocument, model: Model) {
    const stack: { node: unknown; path: Seg }[] = [{ node: parsed.doc.contents, path: [] }];
    while (stack.length) {
      const { node, path: p } = stack.pop()!;
      const tag = (node as YamlNode | null)?.tag;
      if (tag === "!reset" || tag === "!override") {
        const parent = getIn(model, p.slice(0, -1));
        if (parent && typeof parent === "object" && p.length) {
          const m = this.tags.get(parent) ?? new Map<string, Tag>();
          m.set(String(p[p.length - 1]), tag);
          this.tags.set(parent, m);
        }
      }
      if (isMap(node)) for (const it of node.items) if (isPair(it) && isScalar(it.key)) stack.push({ node: it.value, path: [...p, String(it.key.value)] });
      if (isSeq(node)) node.items.forEach((it, i) => stack.push({ node: it, path: [...p, i] }));
    }
  }

  private interpolateAll(parsed: ParsedDocument, model: Model, env: Lookup) {
    const stack: { container: Obj | unknown[]; path: Seg }[] = [{ container: model, path: [] }];
    while (stack.length) {
      const { container, path: p } = stack.pop()!;
      const entries: [string | number, unknown][] = Array.isArray(container) ? container.map((v, i) => [i, v]) : Object.entries(container);
      for (const [k, v] of entries) {
        const here = [...p, k];
        if (typeof v === "string") {
          if (!v.includes("$")) continue;
          const r = interpolate(v, env);
          for (const e of r.errors) this.error(scalarPlace(parsed, here, e.offset), here, e.message, "write $$ for a literal $");
          for (const u of r.unset) {
            if (this.warnedUnset.has(u.name)) continue;
            this.warnedUnset.add(u.name);
            this.error(scalarPlace(parsed, here, u.offset), here, `variable ${u.name} is not set: defaulting to a blank string`, undefined, "warning");
          }
          (container as Obj)[k as string] = r.value;
        } else if (v !== null && typeof v === "object") {
          stack.push({ container: v as Obj, path: here });
        }
      }
    }
  }

  private validate(parsed: ParsedDocument, model: Model): boolean {
    const errors = fieldErrorsOf(composeSchemaErrors(model));
    for (const fe of errors) {
      const p = fe.missing ? fe.path.slice(0, -1) : fe.path;
      const place = this.placeIn(parsed, p, fe.atKey);
      this.error(place, fe.path, fe.message.replace(/known fields: .*/, ""), fe.suggestion && fe.suggestion.length < 200 ? fe.suggestion : undefined);
    }
    return errors.length === 0;
  }

  // ---------------------------------------------------------------- extends

  private resolveExtends(model: Model, abs: string, display: string, env: Lookup, chain: Set<string>) {
    const services = (model.services ?? {}) as Record<string, Obj>;
    const done = new Set<string>();
    const resolve = (name: string, visiting: string[]): Obj | undefined => {
      const svc = services[name];
      if (!svc) return undefined;
      if (done.has(name) || svc.extends === undefined) return svc;
      if (visiting.includes(name)) {
        this.error(this.place(model, ["services", name, "extends"]), ["services", name, "extends"], `circular extends: ${[...visiting, name].join(" → ")}`);
        delete svc.extends;
        return svc;
      }
      const ext = svc.extends as string | { service: string; file?: string };
      const spec = typeof ext === "string" ? { service: ext } : ext;
      const at: Seg = ["services", name, "extends"];
      let base: Obj | undefined;
      if (spec.file !== undefined && path.resolve(spec.file) !== abs) {
        const f = path.resolve(path.dirname(abs), spec.file);
        if (chain.has(f)) {
          this.error(this.place(model, at), at, `circular extends through ${this.display(f)}`);
        } else {
          const text = this.options.readFile(f);
          if (text === undefined) this.error(this.place(model, [...at, "file"]), [...at, "file"], `file ${this.display(f)} not found`);
          else {
            const other = this.loadFile(f, text, this.display(f), env, new Set([...chain, abs]));
            const found = (other?.services as Record<string, Obj> | undefined)?.[spec.service];
            if (other && !found) this.error(this.place(model, [...at, "service"]), [...at, "service"], `service "${spec.service}" is not defined in ${this.display(f)}`);
            base = found;
          }
        }
      } else {
        base = resolve(spec.service, [...visiting, name]);
        if (!base) this.error(this.place(model, typeof ext === "string" ? at : [...at, "service"]), at, `cannot extend service "${spec.service}": it is not defined in ${display}`);
      }
      delete svc.extends;
      if (base) services[name] = this.mergeService(base, svc);
      done.add(name);
      return services[name];
    };
    for (const name of Object.keys(services)) resolve(name, []);
  }

  /** `override` over `base` with Compose's merge rules; origins follow the side each value came from. */
  mergeService(base: Obj, override: Obj): Obj {
    return this.mergeMap(stripBaseOnly(base), override, []) as Obj;
  }

  private mergeMap(base: Obj, over: Obj, at: Seg): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(base)) {
      out[k] = v;
      this.origins.setKey(out, k, this.origins.originOf(base, k));
    }
    this.overlay(out, over, (k, prev, v) => this.mergeValue(prev, v, base, over, [...at, k]));
    return out;
  }

  /**
   * `over`'s keys onto `into`, in place: `!reset` deletes the key, `!override` or a key
   * `into` lacks takes `over`'s value, anything else `merge(key, into's, over's)`; the
   * origin of a value taken whole is `over`'s.
   */
  private overlay(into: Obj, over: Obj, merge: (key: string, prev: unknown, v: unknown) => unknown): void {
    const tags = this.tags.get(over);
    for (const [k, v] of Object.entries(over)) {
      const tag = tags?.get(k);
      if (tag === "!reset") {
        delete into[k];
        continue;
      }
      const prev = into[k];
      into[k] = tag === "!override" || prev === undefined ? v : merge(k, prev, v);
      if (into[k] === v) this.origins.setKey(into, k, this.origins.originOf(over, k));
    }
  }

  private mergeValue(a: unknown, b: unknown, baseParent: Obj, overParent: Obj, at: Seg): unknown {
    const key = at.join(".");
    if (REPLACED.has(key) || REPLACED.has(String(at[at.length - 1]))) return b;
    if (DICT_LIKE.has(key)) return this.mergeDicts(a, b, baseParent, overParent, String(at[at.length - 1]));
    if (Array.isArray(a) && Array.isArray(b)) {
      const keyOf = LIST_KEYS[key];
      const out: unknown[] = [];
      const put = (v: unknown, from: unknown[], i: number) => {
        const id = keyOf ? keyOf(v) : JSON.stringify(v);
        const j = out.findIndex((x) => (keyOf ? keyOf(x) : JSON.stringify(x)) === id);
        const idx = j >= 0 ? j : out.length;
        out[idx] = v;
        this.origins.setKey(out, idx, this.origins.originOf(from, i));
      };
      a.forEach((v, i) => put(v, a, i));
      b.forEach((v, i) => put(v, b, i));
      return out;
    }
    if (isObj(a) && isObj(b)) return this.mergeMap(a, b, at);
    return b;
  }

  /** A list-or-dict field (`environment`, `labels`, `depends_on`, `networks`) as a dict, `b` over `a`. */
  private mergeDicts(a: unknown, b: unknown, _ap: Obj, _bp: Obj, field: string): Obj {
    const out: Obj = {};
    for (const side of [a, b]) {
      const d = asDict(side, field);
      for (const [k, v] of Object.entries(d.values)) {
        out[k] = isObj(out[k]) && isObj(v) ? { ...(out[k] as Obj), ...v } : v;
        this.origins.setKey(out, k, side && typeof side === "object" ? this.origins.originOf(side as object, d.keys[k]!) : undefined);
      }
    }
    return out;
  }

  /**
   * An override file's model over the project's (Compose's "Merge and override"): each
   * service, network, volume, secret and config merged with its namesake by the merge rules,
   * or added; other top-level keys (name, x- extensions) replaced, mappings merged.
   */
  private mergeOverride(model: Model, over: Model): void {
    this.overlay(model, over, (k, prev, v) => {
      if (!isObj(prev) || !isObj(v)) return v;
      if (!RESOURCE_SECTIONS.has(k)) return this.mergeMap(prev, v, [k]);
      this.overlay(prev, v, (_name, p, d) => (isObj(p) && isObj(d) ? this.mergeMap(p, d, k === "services" ? [] : [k]) : d));
      return prev;
    });
  }

  // ---------------------------------------------------------------- include

  private resolveIncludes(model: Model, abs: string, dir: string, env: Lookup, chain: Set<string>) {
    const list = (model.include ?? []) as (string | { path: string | string[]; project_directory?: string; env_file?: string | string[] })[];
    delete model.include;
    list.forEach((entry, i) => {
      const at: Seg = ["include", i];
      const spec = typeof entry === "string" ? { path: [entry] } : { ...entry, path: ([] as string[]).concat(entry.path) };
      const files = spec.path.map((p) => path.resolve(dir, p));
      const projectDir = spec.project_directory ? path.resolve(dir, spec.project_directory) : path.dirname(files[0]!);
      const envFiles = spec.env_file ? ([] as string[]).concat(spec.env_file).map((f) => path.resolve(dir, f)) : [path.join(projectDir, ".env")];
      const subEnv = this.environment(projectDir, envFiles, !!spec.env_file);
      for (const f of files) {
        if (chain.has(f)) {
          this.error(this.place(model, at), at, `include cycle: ${this.display(f)} includes itself`);
          continue;
        }
        const text = this.options.readFile(f);
        if (text === undefined) {
          this.error(this.place(model, at), at, `included file ${this.display(f)} not found`);
          continue;
        }
        void abs;
        const sub = this.loadFile(f, text, this.display(f), subEnv, chain);
        if (!sub) continue;
        for (const section of ["services", "networks", "volumes", "secrets", "configs"] as const) {
          const from = sub[section] as Obj | undefined;
          if (!from) continue;
          const into = (model[section] ??= {}) as Obj;
          for (const [name, v] of Object.entries(from)) {
            if (into[name] !== undefined) {
              if (JSON.stringify(into[name]) === JSON.stringify(v)) continue;
              const other = this.place(sub, [section, name], true);
              this.error(this.place(model, [section, name], true), [section, name], `${section}.${name} is also defined by the included file ${this.display(f)}${other ? ` (${other.file}:${other.line}:${other.column})` : ""}`, "rename one of them, or use extends");
              continue;
            }
            into[name] = v;
            this.origins.setKey(into, name, this.origins.originOf(from, name));
          }
        }
      }
    });
  }

  // ---------------------------------------------------------------- name, profiles

  private projectName(model: Model, env: Lookup, dir: string): string | undefined {
    const given = this.options.projectName ?? (env("COMPOSE_PROJECT_NAME") || undefined);
    if (given !== undefined) {
      if (!PROJECT_NAME_RE.test(given)) {
        this.error(undefined, [], `invalid project name ${JSON.stringify(given)}: it must contain only lowercase letters, digits, '-' and '_', and start with a letter or digit`);
        return undefined;
      }
      return given;
    }
    if (typeof model.name === "string" && model.name !== "") {
      if (!PROJECT_NAME_RE.test(model.name)) {
        this.error(this.place(model, ["name"]), ["name"], `invalid project name ${JSON.stringify(model.name)}: it must contain only lowercase letters, digits, '-' and '_', and start with a letter or digit`, normalizeProjectName(model.name) ? `did you mean "${normalizeProjectName(model.name)}"?` : undefined);
        return undefined;
      }
      return model.name;
    }
    const name = normalizeProjectName(path.basename(dir));
    if (!name) {
      this.error(undefined, [], `cannot derive a project name from the directory ${dir}`, "set name: at the top of the file, or give --stack / -p");
      return undefined;
    }
    return name;
  }

  private applyProfiles(model: Model, env: Lookup): Set<string> {
    const active = new Set(
      (this.options.profiles ?? (env("COMPOSE_PROFILES") ?? "").split(",")).map((s) => s.trim()).filter(Boolean),
    );
    const disabled = new Set<string>();
    const services = (model.services ?? {}) as Record<string, Obj>;
    for (const [name, svc] of Object.entries(services)) {
      const profiles = svc.profiles as string[] | undefined;
      if (profiles?.length && !active.has("*") && !profiles.some((p) => active.has(p))) disabled.add(name);
    }
    return disabled;
  }
}

// ---------------------------------------------------------------- merge rules (Compose Specification, "Merge and override")

/** Top-level sections whose entries an override file merges by name. */
const RESOURCE_SECTIONS = new Set(["services", "networks", "volumes", "secrets", "configs"]);

/** Fields replaced whole by the override. */
const REPLACED = new Set(["command", "entrypoint", "healthcheck.test", "services.healthcheck.test", "test"]);
/** List-or-dict fields merged as dicts. */
const DICT_LIKE = new Set(["environment", "labels", "annotations", "extra_hosts", "sysctls", "depends_on", "networks", "build.args", "args", "deploy.labels", "ulimits"]);
/** Sequence fields whose items are merged by a key (a later item with the same key replaces the earlier one); others are merged as unique values. */
const LIST_KEYS: Record<string, (v: unknown) => string> = {
  volumes: (v) => (typeof v === "string" ? volumeTarget(v) : String((v as Obj)?.target)),
  devices: (v) => (typeof v === "string" ? v.split(":")[1] ?? v : String((v as Obj)?.target)),
  secrets: (v) => (typeof v === "string" ? v : String((v as Obj)?.target ?? (v as Obj)?.source)),
  configs: (v) => (typeof v === "string" ? v : String((v as Obj)?.target ?? (v as Obj)?.source)),
  ports: (v) => JSON.stringify(v),
};

function volumeTarget(v: string): string {
  const parts = v.split(":");
  return parts.length === 1 ? parts[0]! : parts[1]!;
}

/** Compose's extends does not copy a base's own extends. */
function stripBaseOnly(base: Obj): Obj {
  if (!("extends" in base)) return base;
  const { extends: _drop, ...rest } = base;
  return rest;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A list-or-dict as a dict, with the original key (list index) of each entry for origins. */
export function asDict(v: unknown, field: string): { values: Obj; keys: Record<string, string | number> } {
  const values: Obj = {};
  const keys: Record<string, string | number> = {};
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (typeof item !== "string") return;
      const k = dictKey(item, field);
      if (field === "depends_on" || field === "networks") values[k] = field === "depends_on" ? { condition: "service_started" } : null;
      else values[k] = item.length > k.length ? item.slice(k.length + 1) : null;
      keys[k] = i;
    });
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      values[k] = x;
      keys[k] = k;
    }
  }
  return { values, keys };
}

function dictKey(item: string, field: string): string {
  if (field === "depends_on" || field === "networks") return item;
  const i = field === "extra_hosts" && !item.includes("=") ? item.indexOf(":") : item.indexOf("=");
  return i >= 0 ? item.slice(0, i) : item;
}

// ---------------------------------------------------------------- paths

const isRelative = (s: string) => s === "." || s === ".." || s.startsWith("./") || s.startsWith("../");
const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith("git@");

function expandHome(s: string, env: Lookup): string {
  if (s !== "~" && !s.startsWith("~/")) return s;
  const home = env("HOME");
  return home ? path.join(home, s.slice(1)) : s;
}

/** Makes the file's relative paths absolute against its directory (`~` from HOME), as compose-go does before merging files. */
export function resolveRelativePaths(model: Model, dir: string, env: Lookup): void {
  const abs = (s: string) => path.resolve(dir, expandHome(s, env));
  const services = isObj(model.services) ? model.services : {};
  for (const svc of Object.values(services)) {
    if (!isObj(svc)) continue;
    if (typeof svc.build === "string") {
      if (!isUrl(svc.build)) svc.build = abs(svc.build);
    } else if (isObj(svc.build) && typeof svc.build.context === "string" && !isUrl(svc.build.context)) {
      svc.build.context = abs(svc.build.context);
    } else if (isObj(svc.build) && svc.build.context === undefined) {
      svc.build.context = dir;
    }
    if (typeof svc.env_file === "string") svc.env_file = abs(svc.env_file);
    else if (Array.isArray(svc.env_file)) {
      svc.env_file = svc.env_file.map((f) => (typeof f === "string" ? abs(f) : isObj(f) && typeof f.path === "string" ? { ...f, path: abs(f.path) } : f));
    }
    if (Array.isArray(svc.volumes)) {
      svc.volumes.forEach((v, i) => {
        const list = svc.volumes as unknown[];
        if (typeof v === "string") {
          const parts = v.split(":");
          if (parts.length >= 2 && (isRelative(parts[0]!) || parts[0]!.startsWith("~"))) list[i] = [abs(parts[0]!), ...parts.slice(1)].join(":");
        } else if (isObj(v) && v.type === "bind" && typeof v.source === "string") {
          v.source = abs(v.source);
        }
      });
    }
    if (isObj(svc.extends) && typeof svc.extends.file === "string") svc.extends.file = abs(svc.extends.file);
  }
  for (const section of ["secrets", "configs"]) {
    const s = model[section];
    if (!isObj(s)) continue;
    for (const v of Object.values(s)) if (isObj(v) && typeof v.file === "string") v.file = abs(v.file);
  }
}

// ---------------------------------------------------------------- positions

function getIn(v: unknown, p: Seg): unknown {
  let x = v;
  for (const s of p) {
    if (x === null || typeof x !== "object") return undefined;
    x = (x as Record<string, unknown>)[s as string];
  }
  return x;
}

function locateIn(o: Origin, key: boolean): { line: number; column: number } {
  return locateFn(o.parsed, o.path, { key });
}

/**
 * The position of character `offset` of the string at `p`: exact for plain and quoted
 * one-line scalars, else the scalar's start.
 */
function scalarPlace(parsed: ParsedDocument, p: Seg, offset: number): Place {
  const node = (parsed.doc as Document.Parsed).getIn(p, true);
  const start = locateFn(parsed, p);
  if (node instanceof Scalar && node.range) {
    const [from, to] = node.range;
    const src = parsed.text.slice(from, to);
    const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
    const body = quoted ? src.slice(1, -1) : src;
    if (!body.includes("\n") && body === String(node.source ?? node.value)) {
      const pos = parsed.lineCounter.linePos(from + (quoted ? 1 : 0) + offset);
      return { file: parsed.file, line: pos.line, column: pos.col };
    }
  }
  return { file: parsed.file, ...start };
}

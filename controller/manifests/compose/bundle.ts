/**
 * How a Compose file travels from the CLI to the daemon. The CLI reads the file and, once
 * each, every file it refers to (`.env`, env files, extends and include files), and records
 * the variables of its own environment that interpolation looked up; the manifest text it
 * sends (`ApplyRequest.files[].text`) is then a bundle of all that. The daemon converts the
 * bundle exactly as the CLI did, without reading the disk or using its own environment: an
 * apply means the same on both sides, and the daemon (root) never reads a file for the user.
 *
 * A Compose text that is not a bundle (a GitOps source hands the daemon plain texts) is
 * loaded with `syncComposeReader`: files are read from the project directory and never from
 * outside it, and interpolation uses the daemon's environment.
 */
import { promises as fs, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import type { Diagnostic } from "../diagnostics.js";
import type { ParseLimits } from "../parse.js";
import { loadCompose } from "./index.js";
import type { Lookup } from "./interpolate.js";
import { FileNotRead, type ComposeLoadOptions, type ComposeText } from "./types.js";

const MAGIC = "# berth compose bundle v1\n";
/** Reads of one load: a bound on include/extends chains, so a hostile file cannot make the loop endless. */
const MAX_ROUNDS = 256;

export interface ComposeBundle {
  text: string;
  projectName?: string;
  profiles?: string[];
  /** The variables interpolation looked up that the environment has. */
  env: Record<string, string>;
  /** Absolute path → text; null: no such file. */
  files: Record<string, string | null>;
  /** The stack the project becomes (for the CLI's apply). */
  stack?: string;
  /** Absolute paths of the files merged over this one, in order (their texts are in `files`). */
  overrides?: string[];
}

export interface BundleOptions {
  projectName?: string;
  profiles?: string[];
  overrides?: string[];
  env?: Record<string, string | undefined>;
  limits: ParseLimits;
}

export function encodeComposeBundle(b: ComposeBundle): string {
  return MAGIC + JSON.stringify(b);
}

/** The bundle in a manifest text, with the load options it stands for; undefined for any other text. */
export function decodeComposeBundle(text: string): { text: string; options: Omit<ComposeLoadOptions, "limits"> } | undefined {
  if (!text.startsWith(MAGIC)) return undefined;
  let b: ComposeBundle;
  try {
    b = JSON.parse(text.slice(MAGIC.length)) as ComposeBundle;
  } catch {
    return undefined;
  }
  if (typeof b?.text !== "string" || typeof b.env !== "object" || typeof b.files !== "object") return undefined;
  const env = new Map(Object.entries(b.env ?? {}).filter(([, v]) => typeof v === "string"));
  const files = new Map(Object.entries(b.files ?? {}));
  const overrides = Array.isArray(b.overrides) ? b.overrides.filter((f): f is string => typeof f === "string" && path.isAbsolute(f)) : [];
  return {
    text: b.text,
    options: {
      ...(overrides.length ? { overrides } : {}),
      ...(typeof b.projectName === "string" ? { projectName: b.projectName } : {}),
      ...(Array.isArray(b.profiles) ? { profiles: b.profiles.filter((p) => typeof p === "string") } : {}),
      env: (n) => env.get(n),
      readFile: (abs) => {
        const t = files.get(abs);
        return typeof t === "string" ? t : undefined;
      },
    },
  };
}

/** The stack a bundle's project becomes; undefined for other texts or a project that did not load. */
export function composeBundleStack(text: string): string | undefined {
  if (!text.startsWith(MAGIC)) return undefined;
  try {
    const s = (JSON.parse(text.slice(MAGIC.length)) as ComposeBundle).stack;
    return typeof s === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads `t` against the disk, reading each file it needs once (the pure load runs again
 * after each round of reads), and returns it as a bundle. Diagnostics are only for files
 * that could not be read; the load's own are the daemon's to report (and `berth convert`'s).
 */
export async function readComposeBundle(t: ComposeText, o: BundleOptions): Promise<{ bundle: ComposeBundle; diagnostics: Diagnostic[] }> {
  const files = new Map<string, string | null>();
  const diagnostics: Diagnostic[] = [];
  const source = o.env ?? process.env;
  const used: Record<string, string> = {};
  const env: Lookup = (n) => {
    const v = Object.prototype.hasOwnProperty.call(source, n) ? source[n] : undefined;
    if (v !== undefined) used[n] = v;
    return v;
  };
  let stack: string | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    try {
      const r = loadCompose(t, {
        ...(o.overrides?.length ? { overrides: o.overrides } : {}),
        ...(o.projectName ? { projectName: o.projectName } : {}),
        ...(o.profiles ? { profiles: o.profiles } : {}),
        env,
        limits: o.limits,
        readFile: (abs) => {
          if (!files.has(abs)) throw new FileNotRead(abs);
          return files.get(abs) ?? undefined;
        },
      });
      stack = r.stack;
      break;
    } catch (err) {
      if (!(err instanceof FileNotRead)) throw err;
      files.set(err.absPath, await readCapped(err.absPath, o.limits.maxFileBytes, diagnostics));
    }
  }
  const bundle: ComposeBundle = { text: t.text, env: used, files: Object.fromEntries(files), ...(stack ? { stack } : {}) };
  if (o.projectName) bundle.projectName = o.projectName;
  if (o.overrides?.length) bundle.overrides = o.overrides;
  if (o.profiles) bundle.profiles = o.profiles;
  return { bundle, diagnostics };
}

async function readCapped(abs: string, max: number, diagnostics: Diagnostic[]): Promise<string | null> {
  try {
    const st = await fs.stat(abs);
    if (!st.isFile()) {
      diagnostics.push({ severity: "error", file: abs, line: 0, column: 0, path: "", message: "not a regular file" });
      return null;
    }
    if (st.size > max) {
      diagnostics.push({ severity: "error", file: abs, line: 0, column: 0, path: "", message: `file is ${st.size} bytes, over the limit of ${max} bytes` });
      return null;
    }
    return await fs.readFile(abs, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") diagnostics.push({ severity: "error", file: abs, line: 0, column: 0, path: "", message: `cannot read: ${code ?? (err as Error).message}` });
    return null;
  }
}

/** Load options that read files synchronously from inside `projectDir` only (a file outside it counts as missing, with an error). */
export function syncComposeReader(projectDir: string, o: { projectName?: string; profiles?: string[]; env?: Record<string, string | undefined> } | undefined, limits: ParseLimits): Omit<ComposeLoadOptions, "limits"> & { outside: string[] } {
  const source = o?.env ?? process.env;
  const outside: string[] = [];
  let root: string;
  try {
    root = realpathSync(projectDir);
  } catch {
    root = projectDir;
  }
  return {
    ...(o?.projectName ? { projectName: o.projectName } : {}),
    ...(o?.profiles ? { profiles: o.profiles } : {}),
    env: (n) => (Object.prototype.hasOwnProperty.call(source, n) ? source[n] : undefined),
    outside,
    readFile: (abs) => {
      let real: string;
      try {
        real = realpathSync(abs);
      } catch {
        return undefined;
      }
      if (real !== root && !real.startsWith(root + path.sep)) {
        outside.push(abs);
        return undefined;
      }
      try {
        const buf = readFileSync(real);
        return buf.length > limits.maxFileBytes ? undefined : buf.toString("utf8");
      } catch {
        return undefined;
      }
    },
  };
}

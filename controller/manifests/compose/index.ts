/**
 * Compose files as berth manifests: detection, and the load of one Compose file into berth
 * objects (in berth's input form) with a way to place any error about them in the Compose
 * files. load.ts runs them through the same validation and normalization as other manifests.
 */
import * as path from "node:path";
import type { Diagnostic } from "../diagnostics.js";
import type { BerthPaths } from "../host-binds.js";
import type { Seg } from "../problems.js";
import { ComposeConverter, type ConvertedObject, type HostGrant } from "./convert.js";
import { ProjectLoader } from "./project.js";
import type { Place } from "./origins.js";
import type { ComposeLoadOptions, ComposeText } from "./types.js";

export { FileNotRead, type ComposeLoadOptions, type ComposeText } from "./types.js";
export type { ConvertedObject, HostGrant } from "./convert.js";

/** The file names Compose looks for. */
export const COMPOSE_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
/** The override files Compose merges over the one it found in the same directory. */
export const COMPOSE_OVERRIDE_NAMES = ["compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"];

/** True for a Compose file: one of Compose's file names, or a mapping with `services` and neither `kind` nor `apiVersion`. */
export function isComposeText(file: string, text: string): boolean {
  if (COMPOSE_FILE_NAMES.includes(path.basename(file)) || COMPOSE_OVERRIDE_NAMES.includes(path.basename(file))) return true;
  // A cheap look at the top-level keys, before any parse: berth manifests have kind/apiVersion at column 0.
  let services = false;
  for (const line of text.split("\n")) {
    if (/^(kind|apiVersion)\s*:/.test(line) || /^---/.test(line) && services) return false;
    if (/^services\s*:/.test(line)) services = true;
  }
  return services;
}

/**
 * Compose texts as projects, each a root file and the files merged over it, as Compose reads
 * them: the texts `together` (the files given with -f) are one project, the first its root,
 * the others merged over it in order; the others (found in directories) one project per
 * directory — its Compose file, with `compose.override.yaml` (or another Compose file there)
 * merged over it. In each project a file named as an override comes after the others.
 */
export function composeProjects<T extends ComposeText>(texts: T[], together: (t: T) => boolean): { root: T; overrides: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const t of texts) {
    const key = together(t) ? "\0given" : t.baseDir;
    const g = groups.get(key) ?? [];
    g.push(t);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const isOverride = (t: T) => COMPOSE_OVERRIDE_NAMES.includes(path.basename(t.file));
    const ordered = [...g.filter((t) => !isOverride(t)), ...g.filter(isOverride)];
    return { root: ordered[0]!, overrides: ordered.slice(1) };
  });
}

/** The absolute path of a Compose text's file. */
export function composeTextPath(t: ComposeText): string {
  return path.join(t.baseDir, path.basename(t.file));
}

export interface ComposeLoad {
  project?: string;
  stack?: string;
  objects: ConvertedObject[];
  grants: (HostGrant & { place?: Place })[];
  diagnostics: Diagnostic[];
  /** Where the Compose source of berth path `p` of converted object `o` is. */
  place(o: ConvertedObject, p: Seg, key?: boolean): Place | undefined;
}

/** Loads one Compose file. May throw FileNotRead (from `options.readFile`). */
export function loadCompose(t: ComposeText, options: ComposeLoadOptions & { berthPaths?: Partial<BerthPaths> }): ComposeLoad {
  const loader = new ProjectLoader(t, options);
  const project = loader.load();
  if (!project) return { objects: [], grants: [], diagnostics: loader.diagnostics, place: () => undefined };
  const conv = new ComposeConverter(project, loader, { ...(options.berthPaths ? { berthPaths: options.berthPaths } : {}) }).convert();
  const place = (o: ConvertedObject, p: Seg, key = false): Place | undefined => {
    let best: Seg | undefined;
    let bestLen = -1;
    for (const [prefix, from] of o.trace) {
      if (prefix.length > bestLen && prefix.length <= p.length && prefix.every((s, i) => s === p[i])) {
        best = from;
        bestLen = prefix.length;
      }
    }
    return loader.place(project.model, best ?? o.at, key && bestLen === p.length);
  };
  return {
    project: project.name,
    stack: conv.stack,
    objects: conv.objects,
    grants: conv.grants.map((g) => ({ ...g, place: loader.place(project.model, g.at) })),
    diagnostics: loader.diagnostics,
    place,
  };
}

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

/** True for a Compose file: one of Compose's file names, or a mapping with `services` and neither `kind` nor `apiVersion`. */
export function isComposeText(file: string, text: string): boolean {
  if (COMPOSE_FILE_NAMES.includes(path.basename(file))) return true;
  // A cheap look at the top-level keys, before any parse: berth manifests have kind/apiVersion at column 0.
  let services = false;
  for (const line of text.split("\n")) {
    if (/^(kind|apiVersion)\s*:/.test(line) || /^---/.test(line) && services) return false;
    if (/^services\s*:/.test(line)) services = true;
  }
  return services;
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

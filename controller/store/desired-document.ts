/**
 * The on-disk document of the desired store (desired-store.ts): its format, the checks a
 * copy must pass to be used, and the guard kept while a lost state is not re-applied.
 * Pure reading and checking; the store decides what to do with a bad copy.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { canonicalJson } from "../../lib/canonical-json.js";
import { errorMessage } from "../../lib/errors.js";
import { KINDS } from "../../schemas/kinds.js";
import { objectKey, type AnyObject } from "../manifests/model.js";
import type { StoredObject } from "./types.js";

export interface Document {
  version: 2;
  /** +1 per committed write. */
  seq: number;
  /** sha256 (hex) of the canonical JSON of `objects`. */
  sha256: string;
  objects: StoredObject[];
}

export const FORMAT_VERSION = 2;
export const BACKUP_SUFFIX = ".bak";

/** What `open` found and did. */
export interface DesiredStoreRecovery {
  /** Which copy the state came from; `none` for a new store (or a lost state). */
  source: "primary" | "backup" | "none";
  /** Copies that were invalid, moved aside to these paths. */
  quarantined: { file: string; movedTo: string; problem: string }[];
  /** Neither copy was valid: the state is empty and the previous one is lost. */
  lost: boolean;
  /** Objects in the recovered state. */
  objects: number;
}

/**
 * Kept while a lost desired state has not been re-applied (`desired.lost.json`): the stacks
 * whose containers the controller must leave running rather than prune, `null` until the
 * controller has listed them.
 */
export interface OrphanGuard {
  since: string;
  stacks: string[] | null;
}

export const LOST_MARKER = "desired.lost.json";

export function checksum(objects: StoredObject[]): string {
  return createHash("sha256").update(canonicalJson(objects)).digest("hex");
}

/** Why `doc` is not a usable document, or undefined when it is (format version 1 is accepted). */
function problemOf(doc: unknown): string | undefined {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return "not a JSON object";
  const d = doc as Omit<Partial<Document>, "version"> & { version?: unknown };
  if (d.version !== 1 && d.version !== FORMAT_VERSION) return `unsupported format version ${JSON.stringify(d.version)}`;
  if (!Array.isArray(d.objects)) return "no objects list";
  for (const [i, o] of d.objects.entries()) {
    const bad = storedObjectProblem(o);
    if (bad) return `objects[${i}]: ${bad}`;
  }
  if (d.version === FORMAT_VERSION) {
    if (!Number.isSafeInteger(d.seq) || d.seq! < 0) return "no sequence number";
    if (typeof d.sha256 !== "string" || d.sha256 !== checksum(d.objects)) return "checksum mismatch";
  }
  return undefined;
}

function storedObjectProblem(o: unknown): string | undefined {
  if (o === null || typeof o !== "object") return "not an object";
  const s = o as Partial<StoredObject>;
  if (typeof s.kind !== "string" || !(KINDS as readonly string[]).includes(s.kind)) return "unknown kind";
  if (typeof s.name !== "string" || typeof s.stack !== "string" || typeof s.key !== "string") return "missing key, name or stack";
  if (!Number.isSafeInteger(s.generation) || s.generation! < 1) return "bad generation";
  if (typeof s.createdAt !== "string" || typeof s.updatedAt !== "string") return "missing times";
  const obj = s.object as Partial<AnyObject> | undefined;
  if (!obj || typeof obj !== "object" || obj.kind !== s.kind || obj.metadata?.name !== s.name || typeof obj.spec !== "object" || obj.spec === null) return "object does not match its key";
  if (objectKey(obj as AnyObject) !== s.key) return "object does not match its key";
  return undefined;
}


export async function readGuard(file: string): Promise<OrphanGuard | undefined> {
  try {
    const g = JSON.parse(await fs.readFile(file, "utf8")) as Partial<OrphanGuard>;
    return { since: typeof g.since === "string" ? g.since : new Date().toISOString(), stacks: Array.isArray(g.stacks) ? g.stacks.filter((x): x is string => typeof x === "string") : null };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return { since: new Date().toISOString(), stacks: null }; // unreadable: keep guarding everything
  }
}

/** One copy of the document: parsed and checked, or the problem with it; nothing when it does not exist. */
export async function readCopy(file: string): Promise<{ doc?: Document; version?: number; problem?: string }> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problem: text.trim() === "" ? "empty file" : `not JSON: ${errorMessage(err)}` };
  }
  const problem = problemOf(raw);
  if (problem) return { problem };
  const d = raw as Document | { version: 1; objects: StoredObject[] };
  return { doc: d.version === 1 ? { version: FORMAT_VERSION, seq: 0, sha256: checksum(d.objects), objects: d.objects } : d, version: d.version };
}


import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fsyncDir, writeJsonAtomic } from "../../lib/atomic-file.js";
import { assertValidId, ID_RE } from "../../lib/names.js";

/**
 * Quarantined container records: `<root>/quarantine/containers/<id>-<time>/`, one directory
 * per bad record found, holding
 * - `container.json`: the bad bytes (a hard link to the bad file, so the very bytes;
 *   never rewritten);
 * - `quarantine.json`: `{id, at, problem, outcome?}` — what was wrong, and what the runtime
 *   then did (record-repair.ts: the container rebuilt from the host, or removed from it);
 * - `files/`: for a removed container, the rest of its directory (its logs).
 * Nothing reads them back: they are evidence for the operator, listed by `berth doctor`
 * (`listQuarantinedRecords`), and deleted by hand.
 */

export interface QuarantinedRecord {
  id: string;
  /** The quarantine directory. */
  path: string;
  /** When it was quarantined (ISO time), when known. */
  at?: string;
  problem?: string;
  /** What was done about the container ("rebuilt ...", "removed ..."), once done. */
  outcome?: string;
}

export function quarantineDir(root: string): string {
  return path.join(root, "quarantine", "containers");
}

/**
 * Puts the bytes of `<containerDir>/container.json` into a new quarantine directory for
 * `id` — a hard link (one atomic step on the root's filesystem; a copy where linking
 * fails), fsynced — and writes its `quarantine.json`. Returns the directory. The record
 * file itself stays: the caller replaces or removes it (record-repair.ts). A record gone
 * meanwhile leaves a directory that says so.
 */
export async function quarantineRecord(root: string, containerDir: string, id: string, problem: string, at: string): Promise<string> {
  assertValidId(id, "container id");
  const parent = quarantineDir(root);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  const stamp = at.replace(/[:.]/g, "");
  let dir = path.join(parent, `${id}-${stamp}`);
  for (let n = 1; ; n++) {
    try {
      await fs.mkdir(dir, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) throw err;
      dir = path.join(parent, `${id}-${stamp}-${n}`);
    }
  }
  const src = path.join(containerDir, "container.json");
  const dst = path.join(dir, "container.json");
  let kept = true;
  try {
    await fs.link(src, dst).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw err;
      await fs.copyFile(src, dst);
      const fh = await fs.open(dst, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    kept = false;
  }
  await fsyncDir(dir);
  await fsyncDir(parent);
  await writeJsonAtomic(path.join(dir, "quarantine.json"), { id, at, problem: kept ? problem : `${problem} (the file was gone when it was to be quarantined)` }, { mode: 0o600 });
  return dir;
}

/** Records in `dir`'s quarantine.json what was done about the container. */
export async function noteQuarantineOutcome(dir: string, outcome: string): Promise<void> {
  const file = path.join(dir, "quarantine.json");
  const note = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
  await writeJsonAtomic(file, { ...note, outcome }, { mode: 0o600 });
}

/** Every quarantined record under `root`, oldest first. Never throws for a missing or odd directory. */
export async function listQuarantinedRecords(root: string): Promise<QuarantinedRecord[]> {
  const parent = quarantineDir(root);
  const out: QuarantinedRecord[] = [];
  for (const e of await fs.readdir(parent).catch(() => [] as string[])) {
    const id = e.slice(0, 64);
    if (!ID_RE.test(id) || e[64] !== "-") continue;
    const entry: QuarantinedRecord = { id, path: path.join(parent, e) };
    try {
      const note = JSON.parse(await fs.readFile(path.join(entry.path, "quarantine.json"), "utf8")) as Record<string, unknown>;
      if (typeof note.at === "string") entry.at = note.at;
      if (typeof note.problem === "string") entry.problem = note.problem;
      if (typeof note.outcome === "string") entry.outcome = note.outcome;
    } catch {
      // A crash between the move and the note: the bytes are there, the note is not.
    }
    out.push(entry);
  }
  return out.sort((a, b) => (a.at ?? "").localeCompare(b.at ?? "") || a.path.localeCompare(b.path));
}

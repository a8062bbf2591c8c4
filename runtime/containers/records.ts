import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic, fsyncDir } from "../../lib/atomic-file.js";
import { alreadyExists, notFound, unavailable } from "../../lib/errors.js";
import { assertValidId, assertValidName, ID_RE, isValidName } from "../../lib/names.js";
import type { ContainerCreateSpec, ContainerState, ImageRuntimeConfig } from "../types.js";
import { hasOwnNetns, netnsNameOf, netnsPathOf } from "./netns.js";
import { quarantineRecord } from "./quarantine.js";
import { parseRecord } from "./record-shape.js";

/**
 * Container records on disk: `<root>/containers/<id>/container.json`, written atomically
 * (temp, fsync, rename, fsync dir) after every state change, so a crash leaves the last
 * committed state. Names are reserved with `<root>/containers/.names/<name>` created
 * O_EXCL, which keeps them unique even across processes.
 *
 * Every read checks the record's shape (record-shape.ts). A record that is not JSON or of
 * another shape is "corrupt": `read` says so with the problem, `scan` lists its id apart,
 * `load` throws Unavailable (retry: the runtime quarantines and rebuilds it, see
 * record-repair.ts, on its next lookup or poll). Nothing here repairs.
 *
 * Also in the container's directory: `ctr.log` (conmon's log), and `run/`, the copy of the
 * current run's runc state and OCI config (start.ts, run-copy.ts).
 */

export type RecordRead =
  | { state: "ok"; record: ContainerRecord }
  | { state: "missing" }
  | { state: "corrupt"; problem: string };

export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  spec: ContainerCreateSpec;
  imageDigest: string;
  imageConfig: ImageRuntimeConfig;
  chainIds: string[];
  cgroupsPath: string;
  createdAt: string;
  status: "created" | "running" | "exited";
  pid?: number;
  pidStartTime?: string;
  conmonPid?: number;
  conmonStartTime?: string;
  /** Boot id of the host when the container was started. */
  bootId?: string;
  startedAt?: string;
  exitCode?: number;
  oomKilled: boolean;
  finishedAt?: string;
  reason?: string;
  /** Named volumes this container holds a reference on. */
  volumes: string[];
}

export function stateOf(r: ContainerRecord): ContainerState {
  const s: ContainerState = {
    id: r.id,
    name: r.name,
    labels: { ...r.spec.labels },
    image: r.spec.image,
    imageDigest: r.imageDigest,
    status: r.status,
    oomKilled: r.oomKilled,
    createdAt: r.createdAt,
  };
  if (r.status === "running" && r.pid !== undefined) s.pid = r.pid;
  if (r.exitCode !== undefined && r.status === "exited") s.exitCode = r.exitCode;
  if (r.startedAt) s.startedAt = r.startedAt;
  if (r.finishedAt && r.status === "exited") s.finishedAt = r.finishedAt;
  if (r.reason) s.reason = r.reason;
  if (hasOwnNetns(r.spec)) s.netns = netnsPathOf(netnsNameOf(r.id));
  return s;
}

export class RecordStore {
  readonly dir: string;
  private readonly namesDir: string;

  constructor(root: string) {
    this.dir = path.join(root, "containers");
    this.namesDir = path.join(this.dir, ".names");
  }

  async init(): Promise<void> {
    await fs.mkdir(this.namesDir, { recursive: true, mode: 0o700 });
  }

  containerDir(id: string): string {
    assertValidId(id, "container id");
    return path.join(this.dir, id);
  }

  /** The record of `id`, or that there is none, or what is wrong with it. Throws only for I/O errors. */
  async read(id: string): Promise<RecordRead> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.containerDir(id), "container.json"), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { state: "missing" };
      throw err;
    }
    const r = parseRecord(text, id);
    return "record" in r ? { state: "ok", record: r.record } : { state: "corrupt", problem: r.problem };
  }

  /** The record of `id`, undefined when there is none; Unavailable when it is corrupt. */
  async load(id: string): Promise<ContainerRecord | undefined> {
    const r = await this.read(id);
    if (r.state === "corrupt") {
      throw unavailable(`read container record ${id}: ${r.problem} (it is quarantined and rebuilt on the next lookup)`, { object: { kind: "container", name: id } });
    }
    return r.state === "ok" ? r.record : undefined;
  }

  async mustLoad(id: string): Promise<ContainerRecord> {
    const r = await this.load(id);
    if (!r) throw notFound(`inspect container ${id}: not found`, { object: { kind: "container", name: id } });
    return r;
  }

  async save(r: ContainerRecord): Promise<void> {
    await fs.mkdir(this.containerDir(r.id), { recursive: true, mode: 0o700 });
    await writeJsonAtomic(path.join(this.containerDir(r.id), "container.json"), r, { mode: 0o600 });
  }

  /** Every good record, and the ids of the corrupt ones (unreadable ones count as corrupt). */
  async scan(): Promise<{ records: ContainerRecord[]; corrupt: string[] }> {
    const records: ContainerRecord[] = [];
    const corrupt: string[] = [];
    for (const e of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!ID_RE.test(e)) continue;
      const r = await this.read(e).catch(() => ({ state: "corrupt" as const, problem: "unreadable" }));
      if (r.state === "ok") records.push(r.record);
      else if (r.state === "corrupt") corrupt.push(e);
    }
    return { records, corrupt };
  }

  /** Every good record (corrupt ones are left out: see `scan`). */
  async list(): Promise<ContainerRecord[]> {
    return (await this.scan()).records;
  }

  /**
   * Puts the bytes of `id`'s record file into the quarantine (quarantine.ts) with `problem`;
   * returns the quarantine directory. The record file stays, to be replaced or removed.
   */
  async quarantine(id: string, problem: string, at: string): Promise<string> {
    return quarantineRecord(path.dirname(this.dir), this.containerDir(id), id, problem, at);
  }

  /** The names reserved for `id` (normally one; none when its record never got saved). */
  async namesOf(id: string): Promise<string[]> {
    const out: string[] = [];
    for (const n of await fs.readdir(this.namesDir).catch(() => [] as string[])) {
      if (isValidName(n) && (await this.idOfName(n)) === id) out.push(n);
    }
    return out;
  }

  /** The id holding `name`, if any. */
  async idOfName(name: string): Promise<string | undefined> {
    assertValidName(name, "container name");
    try {
      const id = (await fs.readFile(path.join(this.namesDir, name), "utf8")).trim();
      return ID_RE.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Reserves `name` for `id`; AlreadyExists when taken. The name file appears with its content
   * or not at all (written to a temp file, then hard-linked into place, which fails if the name
   * exists): a crash never leaves a name reserved by nobody. A name file without a valid id —
   * what the previous O_EXCL-then-write reservation could leave after a kill -9 — holds nothing
   * and is replaced.
   */
  async reserveName(name: string, id: string): Promise<void> {
    assertValidName(name, "container name");
    assertValidId(id, "container id");
    const target = path.join(this.namesDir, name);
    const tmp = path.join(this.namesDir, `.tmp-${id}-${name}`);
    const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC, 0o600);
    try {
      await fh.writeFile(id);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await fs.link(tmp, target);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          const held = (await fs.readFile(target, "utf8").catch(() => "")).trim();
          if (attempt > 0 || ID_RE.test(held)) throw alreadyExists(`create container ${name}: the name is in use`, { object: { kind: "container", name } });
          await fs.rm(target, { force: true }); // a reservation without an id holds nothing
        }
      }
    } finally {
      await fs.rm(tmp, { force: true });
    }
    await fsyncDir(this.namesDir);
  }

  /** Frees `name` if `id` holds it. Idempotent. */
  async releaseName(name: string, id: string): Promise<void> {
    if ((await this.idOfName(name)) === id) await fs.rm(path.join(this.namesDir, name), { force: true });
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.containerDir(id), { recursive: true, force: true });
  }
}

import { promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic, fsyncDir } from "../../lib/atomic-file.js";
import { alreadyExists, notFound } from "../../lib/errors.js";
import { assertValidId, assertValidName } from "../../lib/names.js";
import type { ContainerCreateSpec, ContainerState, ImageRuntimeConfig } from "../types.js";

/**
 * Container records on disk: `<root>/containers/<id>/container.json`, written atomically
 * (temp, fsync, rename, fsync dir) after every state change, so a crash leaves the last
 * committed state. Names are reserved with `<root>/containers/.names/<name>` created
 * O_EXCL, which keeps them unique even across processes.
 */

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

  async load(id: string): Promise<ContainerRecord | undefined> {
    return readJsonIfExists<ContainerRecord>(path.join(this.containerDir(id), "container.json"));
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

  async list(): Promise<ContainerRecord[]> {
    const out: ContainerRecord[] = [];
    for (const e of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(e)) continue;
      const r = await this.load(e).catch(() => undefined);
      if (r) out.push(r);
    }
    return out;
  }

  /** The id holding `name`, if any. */
  async idOfName(name: string): Promise<string | undefined> {
    assertValidName(name, "container name");
    try {
      const id = (await fs.readFile(path.join(this.namesDir, name), "utf8")).trim();
      return /^[a-f0-9]{64}$/.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reserves `name` for `id`; AlreadyExists when taken. */
  async reserveName(name: string, id: string): Promise<void> {
    assertValidName(name, "container name");
    let fh;
    try {
      fh = await fs.open(path.join(this.namesDir, name), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw alreadyExists(`create container ${name}: the name is in use`, { object: { kind: "container", name } });
      }
      throw err;
    }
    try {
      await fh.writeFile(id);
      await fh.sync();
    } finally {
      await fh.close();
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

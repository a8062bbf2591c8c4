import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../lib/atomic-file.js";
import { conflict, failedPrecondition, invalidArgument, notFound } from "../../lib/errors.js";
import { assertValidId, assertValidName } from "../../lib/names.js";
import { parseSize } from "../../lib/units.js";
import type { VolumeRecord } from "../types.js";
import { KeyedMutex } from "../containers/keyed-mutex.js";
import { isMountpoint, mountTmpfs, unmountAll } from "./mount-util.js";
import type { LocalVolumeStore, VolumeStoreOptions } from "./types.js";

/**
 * Named volumes of the `local` driver: `<root>/volumes/<name>/volume.json` (the record,
 * written last and atomically: a volume exists iff it is there), `_data/` (what containers
 * see) and `users/<containerId>` (one empty file per container using it). Options:
 * `{type: "tmpfs", size?: "64Mi", mode?: "1777"}` mounts a tmpfs on `_data` at creation
 * and again on first use after a reboot; no options = a plain directory.
 *
 * Concurrency: operations on one name are serialized in-process; users are files, so
 * acquire/release from different processes do not lose each other's updates.
 */

const OPTION_KEYS = new Set(["type", "size", "mode"]);

export function validateVolumeOptions(name: string, options: Record<string, string>): void {
  for (const [k, v] of Object.entries(options)) {
    if (!OPTION_KEYS.has(k)) throw invalidArgument(`create volume ${name}: unknown option ${JSON.stringify(k)} (known: type, size, mode)`);
    if (typeof v !== "string") throw invalidArgument(`create volume ${name}: option ${k} must be a string`);
  }
  if (options.type !== undefined && options.type !== "tmpfs") {
    throw invalidArgument(`create volume ${name}: option type must be "tmpfs" (or absent for a directory)`);
  }
  if (options.type === undefined && (options.size !== undefined || options.mode !== undefined)) {
    throw invalidArgument(`create volume ${name}: size and mode need type=tmpfs`);
  }
  if (options.size !== undefined) {
    try {
      if (parseSize(options.size) <= 0) throw new RangeError("zero");
    } catch {
      throw invalidArgument(`create volume ${name}: invalid size ${JSON.stringify(options.size)}`);
    }
  }
  if (options.mode !== undefined && !/^[0-7]{3,4}$/.test(options.mode)) {
    throw invalidArgument(`create volume ${name}: invalid mode ${JSON.stringify(options.mode)} (octal, e.g. 1777)`);
  }
}

function tmpfsOptions(options: Record<string, string>): string[] {
  const o = ["nosuid", "nodev"];
  if (options.size !== undefined) o.push(`size=${parseSize(options.size)}`);
  o.push(`mode=${options.mode ?? "0755"}`);
  return o;
}

function sameOptions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function labelsMatch(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  return !want || Object.entries(want).every(([k, v]) => have[k] === v);
}

class LocalVolumes implements LocalVolumeStore {
  private readonly dir: string;
  private readonly lock = new KeyedMutex();

  constructor(root: string) {
    this.dir = path.join(path.resolve(root), "volumes");
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private volDir(name: string): string {
    assertValidName(name, "volume name");
    return path.join(this.dir, name);
  }

  private async read(name: string): Promise<VolumeRecord | undefined> {
    return readJsonIfExists<VolumeRecord>(path.join(this.volDir(name), "volume.json"));
  }

  async create(name: string, options: { labels?: Record<string, string>; options?: Record<string, string> } = {}): Promise<VolumeRecord> {
    assertValidName(name, "volume name");
    return this.lock.run(name, () => this.createLocked(name, options));
  }

  private async createLocked(name: string, o: { labels?: Record<string, string>; options?: Record<string, string> }): Promise<VolumeRecord> {
    const opts = { ...(o.options ?? {}) };
    validateVolumeOptions(name, opts);
    for (const [k, v] of Object.entries(o.labels ?? {})) {
      if (typeof v !== "string") throw invalidArgument(`create volume ${name}: label ${k} must be a string`);
    }
    const existing = await this.read(name);
    if (existing) {
      if (!sameOptions(existing.options, opts)) {
        throw conflict(`create volume ${name}: exists with different options`, { object: { kind: "volume", name } });
      }
      return existing;
    }
    const dir = this.volDir(name);
    // A directory without volume.json is a create that crashed: start over.
    await unmountAll(path.join(dir, "_data"), true).catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(path.join(dir, "users"), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(dir, "_data"), { mode: 0o755 });
    const rec: VolumeRecord = {
      name,
      driver: "local",
      labels: { ...(o.labels ?? {}) },
      options: opts,
      mountpoint: path.join(dir, "_data"),
      createdAt: new Date().toISOString(),
    };
    if (opts.type === "tmpfs") await mountTmpfs(rec.mountpoint, tmpfsOptions(opts));
    await writeJsonAtomic(path.join(dir, "volume.json"), rec, { mode: 0o600 });
    return rec;
  }

  async inspect(name: string): Promise<VolumeRecord> {
    const r = await this.read(name);
    if (!r) throw notFound(`inspect volume ${name}: not found`, { object: { kind: "volume", name } });
    return r;
  }

  async list(labels?: Record<string, string>): Promise<VolumeRecord[]> {
    const out: VolumeRecord[] = [];
    for (const e of (await fs.readdir(this.dir).catch(() => [] as string[])).sort()) {
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(e)) continue;
      const r = await this.read(e).catch(() => undefined);
      if (r && labelsMatch(r.labels, labels)) out.push(r);
    }
    return out;
  }

  async users(name: string): Promise<string[]> {
    return (await fs.readdir(path.join(this.volDir(name), "users")).catch(() => [] as string[])).filter((x) => /^[a-f0-9]{64}$/.test(x));
  }

  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    assertValidName(name, "volume name");
    return this.lock.run(name, async () => {
      const rec = await this.read(name);
      if (!rec) throw notFound(`remove volume ${name}: not found`, { object: { kind: "volume", name } });
      const users = await this.users(name);
      if (users.length > 0 && !options.force) {
        throw failedPrecondition(`remove volume ${name}: in use by ${users.length} container(s) (${users.map((u) => u.slice(0, 12)).join(", ")})`, {
          object: { kind: "volume", name },
        });
      }
      const dir = this.volDir(name);
      // Rename first so a crash mid-delete never leaves a half-deleted volume under its name.
      const trash = path.join(this.dir, `.trash-${name}-${randomBytes(4).toString("hex")}`);
      await unmountAll(path.join(dir, "_data"), !!options.force);
      await fs.rename(dir, trash);
      await fs.rm(trash, { recursive: true, force: true });
    });
  }

  async acquire(name: string, containerId: string): Promise<void> {
    assertValidName(name, "volume name");
    assertValidId(containerId, "container id");
    return this.lock.run(name, async () => {
      if (!(await this.read(name))) await this.createLocked(name, {});
      await fs.writeFile(path.join(this.volDir(name), "users", containerId), "");
    });
  }

  async release(name: string, containerId: string): Promise<void> {
    assertValidName(name, "volume name");
    assertValidId(containerId, "container id");
    return this.lock.run(name, async () => {
      await fs.rm(path.join(this.volDir(name), "users", containerId), { force: true });
    });
  }

  async use(name: string): Promise<string> {
    assertValidName(name, "volume name");
    return this.lock.run(name, async () => {
      const rec = await this.read(name);
      if (!rec) throw notFound(`use volume ${name}: not found`, { object: { kind: "volume", name } });
      const data = path.join(this.volDir(name), "_data");
      await fs.mkdir(data, { recursive: true, mode: 0o755 });
      if (rec.options.type === "tmpfs" && !(await isMountpoint(data))) await mountTmpfs(data, tmpfsOptions(rec.options));
      return data;
    });
  }
}

/** Opens (creating if needed) the volume store under `<root>/volumes`. */
export async function openVolumeStore(options: VolumeStoreOptions): Promise<LocalVolumeStore> {
  const s = new LocalVolumes(options.root);
  await s.init();
  return s;
}

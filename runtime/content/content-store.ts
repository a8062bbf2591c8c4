import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fs, constants as fsc } from "node:fs";
import * as path from "node:path";
import pino, { type Logger } from "pino";
import { fsyncDir } from "../../lib/atomic-file.js";
import { internal, invalidArgument, notFound } from "../../lib/errors.js";
import { assertValidDigest, DIGEST_RE } from "../../lib/names.js";
import type { ContentStore, IngestOptions } from "../types.js";
import { digestHex } from "./digest.js";

export interface ContentStoreOptions {
  /** State root; blobs live under `<root>/blobs/sha256/`, ingests under `<root>/ingest/`. */
  root: string;
  logger?: Logger;
  /** Default cap of `readBytes` (manifests, configs, index files). */
  readMaxBytes: number;
}

export function defaultContentStoreOptions(): Omit<ContentStoreOptions, "root"> {
  return { readMaxBytes: 4 * 1024 * 1024 };
}

/**
 * Opens (creating when absent) the content store under `root` and removes stale ingest temp
 * files left by a crash. The caller's process must be the only one using this root.
 */
export async function openContentStore(
  options: Partial<ContentStoreOptions> & { root: string },
): Promise<FsContentStore> {
  const opts = { ...defaultContentStoreOptions(), ...options };
  const store = new FsContentStore(opts);
  await store.init();
  return store;
}

/**
 * sha256 content-addressed blobs on the local filesystem.
 *
 * Ingest writes a temp file under `<root>/ingest/`, hashing while writing; after the digest
 * and size check it fsyncs, renames the file to `<root>/blobs/sha256/<hex>` and fsyncs the
 * directory (commit). Before commit nothing is visible to `has`/`pathOf`/`list`; a failed or
 * aborted ingest removes its temp file. Concurrent ingests of the same content both succeed
 * and leave one blob. Committed blobs are read-only (0444) and never modified in place.
 */
export class FsContentStore implements ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  private readonly log: Logger;

  constructor(private readonly opts: ContentStoreOptions) {
    this.blobsDir = path.join(opts.root, "blobs", "sha256");
    this.ingestDir = path.join(opts.root, "ingest");
    this.log = opts.logger ?? pino({ level: "silent" });
  }

  /** Creates the directories and removes every stale ingest temp file. */
  async init(): Promise<void> {
    await fs.mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.ingestDir)) {
      this.log.info({ file: name }, "removing stale ingest file");
      await fs.rm(path.join(this.ingestDir, name), { recursive: true, force: true });
    }
  }

  private blobPath(digest: string): string {
    return path.join(this.blobsDir, digestHex(digest));
  }

  /**
   * Throws InvalidArgument on a digest or size mismatch or when `maxBytes` is exceeded (as
   * soon as it is), and the signal's reason when aborted; nothing is left behind either way.
   */
  async ingest(
    data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: IngestOptions = {},
  ): Promise<{ digest: string; size: number }> {
    const { expectedDigest, expectedSize, maxBytes, signal } = options;
    if (expectedDigest !== undefined) assertValidDigest(expectedDigest);
    for (const [name, v] of [
      ["expectedSize", expectedSize],
      ["maxBytes", maxBytes],
    ] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
        throw invalidArgument(`ingest blob: ${name} must be a non-negative integer, got ${v}`);
      }
    }
    const what = expectedDigest ?? "blob";
    signal?.throwIfAborted();
    const tmp = path.join(this.ingestDir, `${randomBytes(12).toString("hex")}.tmp`);
    const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o444);
    let closed = false;
    let committed = false;
    try {
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of data) {
        signal?.throwIfAborted();
        size += chunk.byteLength;
        if (maxBytes !== undefined && size > maxBytes) {
          throw invalidArgument(`ingest ${what}: size exceeds the cap of ${maxBytes} bytes`);
        }
        if (expectedSize !== undefined && size > expectedSize) {
          throw invalidArgument(`ingest ${what}: more data than the expected ${expectedSize} bytes`);
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
          off += bytesWritten;
        }
      }
      signal?.throwIfAborted();
      const digest = `sha256:${hash.digest("hex")}`;
      if (expectedSize !== undefined && size !== expectedSize) {
        throw invalidArgument(`ingest ${what}: got ${size} bytes, expected ${expectedSize}`);
      }
      if (expectedDigest !== undefined && digest !== expectedDigest) {
        throw invalidArgument(`ingest ${expectedDigest}: content has digest ${digest}`);
      }
      await fh.sync();
      await fh.close();
      closed = true;
      const target = this.blobPath(digest);
      if (!(await exists(target))) {
        await fs.rename(tmp, target);
        await fsyncDir(this.blobsDir);
      }
      committed = true;
      return { digest, size };
    } finally {
      if (!closed) await fh.close().catch(() => {});
      if (!committed || (await exists(tmp))) await fs.rm(tmp, { force: true });
    }
  }

  /**
   * Commits a file this process wrote and hashed itself — a finished download, whose digest
   * was computed over the very bytes written — by renaming it into the store: no second read,
   * hash or copy. The file must be a regular file in a directory only this process writes
   * (a private 0700 dir under the root), of exactly `size` bytes; it is made read-only,
   * fsynced, renamed and the blobs directory fsynced, as an ingest commits. On another
   * filesystem (EXDEV) it is ingested the ordinary way (read, verified, copied). Either
   * way `file` is gone afterwards. The caller vouches for `digest`: never use this for
   * bytes it did not hash itself.
   */
  async adoptFile(file: string, expected: { digest: string; size: number }): Promise<void> {
    assertValidDigest(expected.digest);
    const target = this.blobPath(expected.digest);
    const fh = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw internal(`adopt blob ${expected.digest}: ${file} is not a regular file`);
      if (st.size !== expected.size) throw internal(`adopt blob ${expected.digest}: ${file} has ${st.size} bytes, expected ${expected.size}`);
      await fh.chmod(0o444);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (await exists(target)) {
      await fs.rm(file, { force: true });
      return;
    }
    try {
      await fs.rename(file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      await this.ingestFile(file, { expectedDigest: expected.digest, expectedSize: expected.size });
      await fs.rm(file, { force: true });
      return;
    }
    await fsyncDir(this.blobsDir);
  }

  /** Ingests a file from the local filesystem (read, never moved). */
  ingestFile(file: string, options: IngestOptions = {}): Promise<{ digest: string; size: number }> {
    return this.ingest(createReadStream(file, { highWaterMark: 1 << 20 }), options);
  }

  async has(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async size(digest: string): Promise<number> {
    try {
      return (await fs.stat(this.blobPath(digest))).size;
    } catch (err) {
      throw mapMissing(err, digest);
    }
  }

  async pathOf(digest: string): Promise<string> {
    const p = this.blobPath(digest);
    if (!(await exists(p))) throw notFound(`find blob ${digest}: not found`, { object: { kind: "blob", name: digest } });
    return p;
  }

  /**
   * Reads a whole blob and re-verifies its digest. InvalidArgument when it is larger than
   * `maxBytes`; Internal when the stored bytes no longer match the digest.
   */
  async readBytes(digest: string, maxBytes = this.opts.readMaxBytes): Promise<Buffer> {
    const p = this.blobPath(digest);
    let fh;
    try {
      fh = await fs.open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      throw mapMissing(err, digest);
    }
    try {
      const { size } = await fh.stat();
      if (size > maxBytes) throw invalidArgument(`read blob ${digest}: size ${size} exceeds the cap of ${maxBytes} bytes`);
      const buf = await fh.readFile();
      const actual = `sha256:${createHash("sha256").update(buf).digest("hex")}`;
      if (actual !== digest) throw internal(`read blob ${digest}: stored content has digest ${actual} (store corrupted)`);
      return buf;
    } finally {
      await fh.close();
    }
  }

  /** Idempotent: deleting an absent blob is not an error. */
  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await fs.readdir(this.blobsDir);
    return names.map((n) => `sha256:${n}`).filter((d) => DIGEST_RE.test(d)).sort();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

function mapMissing(err: unknown, digest: string): unknown {
  if ((err as NodeJS.ErrnoException).code === "ENOENT") {
    return notFound(`find blob ${digest}: not found`, { cause: err, object: { kind: "blob", name: digest } });
  }
  return err;
}

import { createHash, type Hash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import { BatchedWriter } from "../../lib/batched-writer.js";
import type { Clock } from "../../lib/clock.js";
import { invalidArgument, isBerthError, unavailable } from "../../lib/errors.js";
import type { FsContentStore } from "../content/content-store.js";
import { digestHex } from "../content/digest.js";
import type { Descriptor } from "../types.js";
import { endpointName, type Endpoint, type RegistryClient } from "./client.js";
import type { HttpResponse } from "./http.js";
import type { BlobProgress } from "./types.js";

export interface BlobFetchContext {
  client: RegistryClient;
  content: FsContentStore;
  /** Where partial downloads are kept between attempts and pulls (`<root>/registry/partial`). */
  partialDir: string;
  /** Attempts after the first on a lost connection (each resumes with Range). */
  retries: number;
  retryDelayMs: number;
  clock: Clock;
  logger: Logger;
}

export interface BlobFetchRequest {
  repo: string;
  desc: Descriptor;
  role: BlobProgress["role"];
  /** Refused before any byte is fetched when the descriptor is larger. */
  maxBytes: number;
  onProgress?: (p: BlobProgress) => void;
  /** Sees the download's file as it grows (a pull unpacks a layer while it downloads). */
  watch?: BlobFileWatch;
  signal?: AbortSignal;
}

/**
 * What a download tells about its file: `opened` when bytes are about to be appended (`have`
 * already there, from an earlier attempt), `wrote` after each batch reached the file (the
 * total), `reset` just before the file's bytes are thrown away (a restart from scratch).
 */
export interface BlobFileWatch {
  opened(file: string, have: number): void;
  wrote(total: number): void;
  reset(): void;
}

export type BlobFetchOutcome = "downloaded" | "resumed";

const PROGRESS_STEP = 1 << 20;

/**
 * Downloads one blob into the content store, resumably. Bytes go to
 * `<partialDir>/<hex>.partial` as they arrive, hashed on the way; a download cut short
 * keeps that file, and the next attempt (in this pull, up to `retries` times, or in a later
 * pull — even after a restart) hashes what is there and asks for the rest with
 * `Range: bytes=<have>-`. A registry that ignores the Range (200) or answers with another
 * start is read from the beginning. Only when the size and the sha256 digest both match the
 * descriptor is the file committed into the content store; otherwise nothing is committed: more bytes than the descriptor says, or a
 * wrong digest of a download made from the start, is refused (InvalidArgument) and the
 * partial deleted. The verified partial itself becomes the blob (adoptFile: a rename, not a
 * copy). A wrong digest of a resumed download (a torn partial after a crash) is
 * retried once from scratch.
 *
 * Endpoints are tried in order: NotFound, or Unavailable after the retries, moves to the next;
 * the last error is thrown. The caller serializes fetches of one digest.
 */
export async function fetchBlob(ctx: BlobFetchContext, endpoints: Endpoint[], req: BlobFetchRequest): Promise<BlobFetchOutcome> {
  const { desc } = req;
  const what = `pull blob ${desc.digest}`;
  if (desc.size > req.maxBytes) throw invalidArgument(`${what}: size ${desc.size} exceeds the cap of ${req.maxBytes} bytes`);
  const file = path.join(ctx.partialDir, `${digestHex(desc.digest)}.partial`);
  let last: unknown;
  for (const ep of endpoints) {
    let fromScratchRetried = false;
    for (let attempt = 0; attempt <= ctx.retries; attempt++) {
      req.signal?.throwIfAborted();
      try {
        return await attemptFetch(ctx, ep, req, file, what);
      } catch (err) {
        last = err;
        if (err instanceof ResumedMismatch && !fromScratchRetried) {
          fromScratchRetried = true;
          attempt--;
          continue;
        }
        if (err instanceof ResumedMismatch) throw err.inner;
        if (isBerthError(err, "NotFound")) break;
        if (!isBerthError(err, "Unavailable")) throw err;
        ctx.logger.warn({ digest: desc.digest, endpoint: endpointName(ep), attempt, err: (err as Error).message }, "blob download interrupted");
        if (attempt < ctx.retries) await ctx.clock.sleep(ctx.retryDelayMs * 2 ** attempt, req.signal);
      }
    }
  }
  throw last ?? unavailable(`${what}: no endpoint to fetch it from`);
}

class ResumedMismatch extends Error {
  constructor(readonly inner: Error) {
    super(inner.message);
  }
}

async function partialSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
}

async function attemptFetch(ctx: BlobFetchContext, ep: Endpoint, req: BlobFetchRequest, file: string, what: string): Promise<BlobFetchOutcome> {
  const { desc } = req;
  const removePartial = async () => {
    req.watch?.reset();
    await fs.rm(file, { force: true });
  };
  await fs.mkdir(ctx.partialDir, { recursive: true, mode: 0o700 });
  let offset = await partialSize(file);
  if (offset > desc.size) {
    await removePartial();
    offset = 0;
  }
  let hash = createHash("sha256");
  if (offset > 0) await hashFile(file, hash);
  let resumedFrom = offset;
  const progress = (status: BlobProgress["status"], done: number) =>
    req.onProgress?.({ digest: desc.digest, mediaType: desc.mediaType, role: req.role, status, done, total: desc.size });

  if (offset < desc.size || desc.size === 0) {
    let res: HttpResponse = await ctx.client.getBlob(ep, req.repo, desc.digest, offset, req.signal);
    if (offset > 0 && res.status === 416) {
      // The registry has no bytes past ours: start over (a complete partial skips the GET).
      await res.discard();
      await removePartial();
      offset = 0;
      hash = createHash("sha256");
      res = await ctx.client.getBlob(ep, req.repo, desc.digest, 0, req.signal);
    }
    if (res.status === 206) {
      const m = /^bytes ([0-9]+)-([0-9]+)\/([0-9]+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!m || Number(m[1]) !== offset) {
        await res.discard();
        await removePartial();
        offset = 0;
        hash = createHash("sha256");
        res = await ctx.client.getBlob(ep, req.repo, desc.digest, 0, req.signal);
      }
    }
    if (res.status === 200 && offset > 0) {
      ctx.logger.info({ digest: desc.digest }, "registry ignored the Range request; downloading from the start");
      await removePartial();
      offset = 0;
      hash = createHash("sha256");
    }
    if (res.status !== 200 && res.status !== 206) throw await ctx.client.statusError(res, `${what} from ${endpointName(ep)}`, { kind: "blob", name: desc.digest });
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && offset + declared > desc.size) {
      await res.discard();
      await removePartial();
      throw invalidArgument(`${what}: the registry sends ${offset + declared} bytes, the manifest says ${desc.size}; refused`);
    }
    resumedFrom = offset;
    progress(offset > 0 ? "resuming" : "downloading", offset);
    const fh = await fs.open(file, "a", 0o600);
    req.watch?.opened(file, offset);
    // Written in batches while the next chunks arrive; what reached the file is kept to
    // resume from even when the connection drops.
    const base = offset;
    const out = new BatchedWriter(fh, req.watch ? { onWritten: (n) => req.watch!.wrote(base + n) } : {});
    let lastReport = offset;
    try {
      for await (const chunk of res.body()) {
        if (offset + chunk.byteLength > desc.size) {
          await out.abandon();
          await fh.close().catch(() => {});
          await removePartial();
          throw invalidArgument(`${what}: the registry sent more than the ${desc.size} bytes the manifest says; refused`);
        }
        await out.write(chunk);
        hash.update(chunk);
        offset += chunk.byteLength;
        if (offset - lastReport >= PROGRESS_STEP) {
          lastReport = offset;
          progress(resumedFrom > 0 ? "resuming" : "downloading", offset);
        }
      }
    } finally {
      await out.flush().finally(() => fh.close().catch(() => {}));
    }
    if (offset !== desc.size) {
      throw unavailable(`${what} from ${endpointName(ep)}: the download ended after ${offset} of ${desc.size} bytes (kept to resume)`);
    }
  }
  progress("verifying", offset);
  const actual = `sha256:${hash.digest("hex")}`;
  if (actual !== desc.digest) {
    await removePartial();
    const err = invalidArgument(`${what}: the content has digest ${actual}; refused, nothing committed`, { object: { kind: "blob", name: desc.digest } });
    if (resumedFrom > 0) throw new ResumedMismatch(err);
    throw err;
  }
  // The digest above was computed over exactly the bytes of `file` (a resumed prefix re-read
  // from it), which lives in a private directory: it is committed by rename, not copied.
  req.signal?.throwIfAborted();
  await ctx.content.adoptFile(file, { digest: desc.digest, size: desc.size });
  progress("done", desc.size);
  return resumedFrom > 0 ? "resumed" : "downloaded";
}

/** Removes partial downloads not touched for `maxAgeMs` (abandoned pulls). */
export async function removeStalePartials(dir: string, now: number, maxAgeMs: number): Promise<number> {
  let n = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const p = path.join(dir, name);
    const st = await fs.lstat(p).catch(() => undefined);
    if (st && now - st.mtimeMs > maxAgeMs) {
      await fs.rm(p, { recursive: true, force: true });
      n++;
    }
  }
  return n;
}

/**
 * A file being appended to by one side (a download) and read as it grows by the other (the
 * unpack of that layer, often on a worker thread), so a pulled layer is unpacked while it
 * downloads instead of after. The two share a SharedArrayBuffer (it crosses to a worker in
 * the unpack request): how many bytes are in the file, and whether the writer gave the file
 * up (its bytes were thrown away: a restarted download). The reader never reads past what the
 * writer said is written, and waits (Atomics.waitAsync) for more until the file has its
 * final size.
 *
 * Nothing read this way is trusted for being read: the unpack checks the diff ID of what it
 * read, and its result is committed only after the download's digest check passed.
 */
import { constants as fsc, promises as fs } from "node:fs";

/** What the reader needs; structured-cloneable (the buffer is shared, not copied). */
export interface GrowingFileState {
  path: string;
  /** The file's final size: reading ends there. */
  size: number;
  /** BigInt64Array view: [0] bytes written, [1] 1 once abandoned. */
  shared: SharedArrayBuffer;
}

const WRITTEN = 0;
const ABANDONED = 1;

/** Thrown by the reader when the writer gave the file up or the file is no longer there to read. */
export class GrowingFileGone extends Error {}

/** The writer's side. */
export class GrowingFile {
  readonly state: GrowingFileState;
  private readonly cells: BigInt64Array;

  constructor(path: string, size: number, written = 0) {
    const shared = new SharedArrayBuffer(16);
    this.cells = new BigInt64Array(shared);
    this.state = { path, size, shared };
    this.wrote(written);
  }

  /** `total` bytes are now in the file (it only grows). */
  wrote(total: number): void {
    if (BigInt(total) <= Atomics.load(this.cells, WRITTEN)) return;
    Atomics.store(this.cells, WRITTEN, BigInt(total));
    Atomics.notify(this.cells, WRITTEN);
  }

  /** The file's bytes are no longer the blob's (or it will not be finished): the reader stops. */
  abandon(): void {
    Atomics.store(this.cells, ABANDONED, 1n);
    Atomics.notify(this.cells, WRITTEN);
  }

  get abandoned(): boolean {
    return Atomics.load(this.cells, ABANDONED) === 1n;
  }
}

export interface ReadGrowingOptions {
  /** Bytes per read. */
  chunkBytes?: number;
  /** How often a wait looks at the signal. */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * The file's bytes from the start to its final size, as they are written. Throws
 * GrowingFileGone when the writer abandons it or the file cannot be opened (already moved
 * away: the caller reads the finished blob instead); the signal's reason on an abort.
 */
export async function* readGrowingFile(state: GrowingFileState, o: ReadGrowingOptions = {}): AsyncGenerator<Buffer> {
  const cells = new BigInt64Array(state.shared);
  const chunkBytes = o.chunkBytes ?? 1 << 20;
  const pollMs = o.pollMs ?? 200;
  const gone = () => Atomics.load(cells, ABANDONED) === 1n;
  if (gone()) throw new GrowingFileGone(`${state.path}: abandoned`);
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(state.path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (err) {
    throw new GrowingFileGone(`${state.path}: ${(err as Error).message}`);
  }
  try {
    let offset = 0;
    while (offset < state.size) {
      o.signal?.throwIfAborted();
      if (gone()) throw new GrowingFileGone(`${state.path}: abandoned`);
      const written = Atomics.load(cells, WRITTEN);
      const have = Math.min(Number(written), state.size);
      if (have > offset) {
        const buf = Buffer.allocUnsafe(Math.min(chunkBytes, have - offset));
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) throw new GrowingFileGone(`${state.path}: shorter than the ${have} bytes written`);
        offset += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        continue;
      }
      const w = Atomics.waitAsync(cells, WRITTEN, written, pollMs);
      if (w.async) await w.value;
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

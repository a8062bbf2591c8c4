import type { FileHandle } from "node:fs/promises";

export interface BatchedWriterOptions {
  /** Chunks are gathered until this many bytes, then written with one writev. */
  batchBytes?: number;
  /** `write` waits for the write in flight once this many bytes are not yet written (back-pressure). */
  maxPendingBytes?: number;
  /** After each batch reaches the file: the bytes written through this writer so far. */
  onWritten?: (total: number) => void;
}

/**
 * Appends a stream of chunks to a file in batches, one writev of about `batchBytes` at a
 * time, while the caller goes on producing: a download's 64 KiB chunks otherwise cost one
 * thread-pool round trip each, and the next chunk is not read until the last is written.
 * `write` resolves at once unless `maxPendingBytes` are waiting; `flush` resolves when
 * everything given has been written. A failed write is thrown by the next `write` or by
 * `flush`. The chunks are kept, not copied, until written: the caller must not reuse them.
 */
export class BatchedWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> | undefined;
  private inflightBytes = 0;
  private failure: { err: unknown } | undefined;
  private total = 0;
  private readonly batchBytes: number;
  private readonly maxPendingBytes: number;

  constructor(
    private readonly fh: FileHandle,
    private readonly opts: BatchedWriterOptions = {},
  ) {
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.maxPendingBytes = Math.max(this.batchBytes, opts.maxPendingBytes ?? 8 << 20);
  }

  /** Bytes written to the file so far (not those still pending). */
  get written(): number {
    return this.total;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (chunk.byteLength === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (!this.inflight && this.pendingBytes >= this.batchBytes) this.start();
    while (this.inflight && this.pendingBytes + this.inflightBytes > this.maxPendingBytes) {
      await this.inflight;
      this.throwIfFailed();
      if (!this.inflight && this.pendingBytes >= this.batchBytes) this.start();
    }
  }

  /** Writes whatever is pending and waits for every write; throws the first failure. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.inflight) await this.inflight;
      this.throwIfFailed();
      if (!this.pendingBytes) return;
      this.start();
    }
  }

  /** Waits for the write in flight and drops what is pending, ignoring failures (before the file is closed and removed). */
  async abandon(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    while (this.inflight) await this.inflight;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  private start(): void {
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inflightBytes = bytes;
    this.inflight = this.writeAll(chunks).then(
      () => {
        this.total += bytes;
        this.inflight = undefined;
        this.inflightBytes = 0;
        this.opts.onWritten?.(this.total);
        if (!this.failure && this.pendingBytes >= this.batchBytes) this.start();
      },
      (err: unknown) => {
        this.failure ??= { err };
        this.inflight = undefined;
        this.inflightBytes = 0;
      },
    );
  }

  /** One writev, continued after a short write (the file is opened for appending: no positions). */
  private async writeAll(chunks: Uint8Array[]): Promise<void> {
    let rest = chunks;
    while (rest.length) {
      const { bytesWritten } = await this.fh.writev(rest);
      let n = bytesWritten;
      let i = 0;
      while (i < rest.length && n >= rest[i]!.byteLength) n -= rest[i++]!.byteLength;
      rest = rest.slice(i);
      if (n > 0) rest[0] = rest[0]!.subarray(n);
      if (bytesWritten === 0 && rest.length) throw new Error("write made no progress");
    }
  }
}

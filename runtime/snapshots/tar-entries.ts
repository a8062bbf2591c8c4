import type { Header } from "tar-stream";
import { readTar, type LargeBodySink } from "./tar-reader.js";

/** Bodies up to this size are handed over as one chunk; larger ones stream. */
const WHOLE_BODY_BYTES = 1 << 20;

/**
 * Streams a tar archive and calls `onEntry` for each entry, one at a time, in archive
 * order, with its body as an async iterable (tar-reader.ts parses; a body over 1 MiB comes
 * in chunks as `onEntry` reads them, a smaller one as one chunk). What `onEntry` leaves of a
 * body unread is skipped. The source is consumed to its very end (trailing padding included)
 * so a digest computed over it covers every byte. The first error wins: a source error (e.g.
 * a size cap), a parse error, or an error thrown by `onEntry`; on error the source is
 * returned (destroyed) and nothing more is read.
 */
export async function forEachTarEntry(
  source: AsyncIterable<Uint8Array>,
  onEntry: (header: Header, body: AsyncIterable<Buffer>) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  await readTar(
    source,
    {
      entry: (h, body) => onEntry(h, once(body)),
      large: (h) => bodyChannel(h, onEntry),
    },
    { wholeBodyMax: WHOLE_BODY_BYTES, ...(signal ? { signal } : {}) },
  );
}

async function* once(body: Buffer): AsyncGenerator<Buffer> {
  if (body.length) yield body;
}

/**
 * A large body handed to `onEntry` as it is read: each chunk waits until the consumer took
 * it (backpressure), and once the consumer is done — or failed — the rest is skipped, or
 * the failure thrown into the read.
 */
function bodyChannel(h: Header, onEntry: (header: Header, body: AsyncIterable<Buffer>) => Promise<void>): LargeBodySink {
  let pending: Buffer | undefined;
  let ended = false;
  let finished = false;
  let failure: { err: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = (which: "consumer" | "producer") => {
    const f = which === "consumer" ? wakeConsumer : wakeProducer;
    if (which === "consumer") wakeConsumer = undefined;
    else wakeProducer = undefined;
    f?.();
  };
  const body: AsyncIterable<Buffer> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (pending === undefined && !ended) await new Promise<void>((r) => (wakeConsumer = r));
        if (pending === undefined) return;
        const chunk = pending;
        pending = undefined;
        wake("producer");
        yield chunk;
      }
    },
  };
  const done = (async () => {
    try {
      await onEntry(h, body);
    } catch (err) {
      failure = { err };
    } finally {
      finished = true;
      wake("producer");
    }
  })();
  return {
    write(chunk) {
      if (failure) throw failure.err;
      if (finished) return;
      pending = chunk;
      wake("consumer");
      return new Promise<void>((r) => (wakeProducer = r)).then(() => {
        if (failure) throw failure.err;
      });
    },
    async end() {
      ended = true;
      wake("consumer");
      await done;
      if (failure) throw failure.err;
    },
  };
}

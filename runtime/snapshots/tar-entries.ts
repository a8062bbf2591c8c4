import tar, { type Header } from "tar-stream";

/**
 * Streams a tar archive and calls `onEntry` for each entry, one at a time, in archive
 * order. The body is drained after `onEntry` returns if it did not read it. The source is
 * consumed to its very end (trailing padding included) so a digest computed over it covers
 * every byte. The first error wins: a source error (e.g. a size cap), a parse error, or an
 * error thrown by `onEntry`; on error the source is returned (destroyed) and nothing more is
 * read.
 */
export async function forEachTarEntry(
  source: AsyncIterable<Uint8Array>,
  onEntry: (header: Header, body: AsyncIterable<Buffer>) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const extract = tar.extract();
  let feedError: unknown;
  let stop = false;
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (stop || extract.destroyed) return;
        if (!extract.write(chunk)) await drainedOrClosed(extract);
      }
      if (!stop && !extract.destroyed) extract.end(undefined);
    } catch (err) {
      feedError = err;
      extract.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      await onEntry(entry.header, entry as AsyncIterable<Buffer>);
      for await (const _ of entry) void _;
    }
    signal?.throwIfAborted();
  } catch (err) {
    stop = true;
    extract.destroy(new Error("tar reading stopped"));
    await feeding;
    throw feedError ?? err;
  }
  await feeding;
  if (feedError) throw feedError;
}

function drainedOrClosed(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

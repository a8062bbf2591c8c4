/**
 * `docker history` of a stored image (issue 10): the entries of its config's `history`,
 * newest first as Docker's API (ImageHistory) gives them. As moby's daemon pairs them
 * (daemon/images/image_history.go): each entry without `empty_layer` takes the next layer,
 * base first; an empty one has size 0. Berth differs where Docker fails or hides: more
 * non-empty entries than layers is InvalidArgument naming the image (Docker: "too many
 * non-empty layers in History section"), and layers no entry describes (a config without
 * history) are shown as entries of their own, newest, with only their size.
 */
import { invalidArgument, notImplemented } from "../../lib/errors.js";
import type { ImageHistoryEntry, ImageStore } from "../types.js";
import { parseJson } from "./image-json.js";
import type { StoredImage } from "./types.js";

interface RawEntry {
  created?: unknown;
  created_by?: unknown;
  comment?: unknown;
  empty_layer?: unknown;
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The history of `image` from its config blob's bytes. `unpackedSize(chainId)` is the
 * uncompressed size of an unpacked layer (undefined when it is not unpacked); otherwise an
 * uncompressed blob's size is exact, and a compressed one's is the best known.
 */
export async function imageHistory(
  image: Pick<StoredImage, "digest" | "layers" | "chainIds">,
  configBytes: Uint8Array,
  unpackedSize: (chainId: string) => Promise<number | undefined>,
): Promise<ImageHistoryEntry[]> {
  const what = `history of image ${image.digest}`;
  const doc = parseJson(configBytes, what) as { history?: unknown };
  const raw: RawEntry[] = Array.isArray(doc?.history) ? (doc.history.filter((h) => typeof h === "object" && h !== null) as RawEntry[]) : [];
  const sizeOf = async (i: number): Promise<number> => {
    const layer = image.layers[i]!;
    const chainId = image.chainIds[i];
    const unpacked = chainId === undefined ? undefined : await unpackedSize(chainId);
    if (unpacked !== undefined) return unpacked;
    return layer.size; // exact for an uncompressed (plain tar) blob, the compressed size otherwise
  };
  const out: ImageHistoryEntry[] = [];
  let next = 0;
  for (const h of raw) {
    const emptyLayer = h.empty_layer === true;
    let size = 0;
    if (!emptyLayer) {
      if (next >= image.layers.length) throw invalidArgument(`${what}: more non-empty history entries than its ${image.layers.length} layers`);
      size = await sizeOf(next++);
    }
    const e: ImageHistoryEntry = { emptyLayer, size };
    const created = str(h.created);
    const createdBy = str(h.created_by);
    const comment = str(h.comment);
    if (created) e.created = created;
    if (createdBy) e.createdBy = createdBy;
    if (comment) e.comment = comment;
    out.push(e);
  }
  for (; next < image.layers.length; next++) out.push({ emptyLayer: false, size: await sizeOf(next) });
  return out.reverse();
}

/** `docker history` of `ref` with the image's ID (its config digest), as the API and the CLI's local path give it. */
export async function imageHistoryOf(store: Pick<ImageStore, "get" | "history">, ref: string): Promise<{ id: string; items: ImageHistoryEntry[] }> {
  if (!store.history) throw notImplemented(`read history of image ${ref}: the image store cannot read image histories`);
  const image = await store.get(ref);
  return { id: image.configDigest, items: await store.history(image.digest) };
}

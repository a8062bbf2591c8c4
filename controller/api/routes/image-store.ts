import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errorMessage, invalidArgument, notFound } from "../../../lib/errors.js";
import { isImageReference, normalizeTaggedReference } from "../../../lib/reference.js";
import { applyChange } from "../../../runtime/images/image-changes.js";
import type { ImageRuntimeConfig } from "../../../runtime/types.js";
import { parseBody } from "../bodies.js";
import { booleanParam, checkQuery, readJson, sendJson, uploadBody } from "../http-util.js";
import { TAR_CONTENT_TYPE, type ImageList, type ImageLoadResponse, type ImageRecord } from "../protocol.js";
import { build, pull, push } from "./image-streams.js";
import type { Route, RouteContext } from "./types.js";

/** Largest tag or prune request body. */
const MAX_SMALL_BODY = 64 * 1024;
/** An image ID or digest (`sha256:` optional), or a prefix of one. */
const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{1,64}$/;

/** A ref as `berth image` takes it: a reference, a digest or an ID prefix. */
function checkImageRef(ref: string, what: string): string {
  if (ref.length > 1024 || !(IMAGE_ID_RE.test(ref) || isImageReference(ref))) {
    throw invalidArgument(`${what}: ${JSON.stringify(ref)} is not an image reference, digest or ID`);
  }
  return ref;
}

function refsOf(q: URLSearchParams, what: string, options: { single?: boolean } = {}): string[] {
  const refs = q.getAll("ref");
  if (refs.length === 0) throw invalidArgument(`${what}: expected a ref parameter`);
  if (options.single && refs.length > 1) throw invalidArgument(`${what}: expected one ref parameter, got ${refs.length}`);
  return refs.map((r) => checkImageRef(r, what));
}

/** The routes whose body is an archive, by op, with the name their errors carry. */
const UPLOADS: Record<string, string> = { load: "load images", import: "import image" };

/**
 * The name of the upload route `POST /v1/image-store/{load|import}` that `segments` (after
 * `/v1`) name, for the server's content-type check (tar types there, JSON elsewhere).
 */
export function uploadRouteOf(method: string, segments: string[]): string | undefined {
  const [resource, op, sub] = segments;
  return method === "POST" && resource === "image-store" && op !== undefined && sub === undefined && Object.hasOwn(UPLOADS, op) ? UPLOADS[op] : undefined;
}

/**
 * `/v1/image-store[/{op}]`: the image store the daemon owns (protocol.ts lists the routes).
 * Every path under it is its own: one it does not serve is NotFound here.
 */
export const imageStoreRoutes: Route = (ctx) => {
  const [resource, op, sub] = ctx.segments;
  if (resource !== "image-store" || sub !== undefined) return undefined;
  return imageStore(ctx, op);
};

async function imageStore(ctx: RouteContext, op: string | undefined) {
  const { api, method, url, req, res } = ctx;
  const q = url.searchParams;
  if (op === undefined && method === "GET") {
    checkQuery(q, ["all"], "list images");
    return sendJson(res, 200, { items: await api.listImages({ all: booleanParam(q, "all", "list images") }) } satisfies ImageList);
  }
  if (op === undefined && method === "DELETE") {
    checkQuery(q, ["ref", "force"], "remove image");
    const [ref] = refsOf(q, "remove image", { single: true });
    return sendJson(res, 200, await api.removeImage(ref!, { force: booleanParam(q, "force", "remove image") }));
  }
  if (op === "inspect" && method === "GET") {
    checkQuery(q, ["ref"], "inspect images");
    return sendJson(res, 200, await api.inspectImages(refsOf(q, "inspect images")));
  }
  if (op === "history" && method === "GET") {
    checkQuery(q, ["ref"], "read image history");
    const [ref] = refsOf(q, "read image history", { single: true });
    return sendJson(res, 200, await api.imageHistory(ref!));
  }
  if (op === "load" && method === "POST") return load(ctx);
  if (op === "import" && method === "POST") return importImage(ctx);
  if (op === "save" && method === "GET") return save(ctx);
  if (op === "tag" && method === "POST") {
    checkQuery(q, [], "tag image");
    const body = await parseBody("ImageTagRequest", await readJson(req, MAX_SMALL_BODY), "tag image");
    checkImageRef(body.source, "tag image");
    normalizeTaggedReference(body.target);
    return sendJson(res, 200, await api.tagImage(body.source, body.target));
  }
  if (op === "prune" && method === "POST") {
    checkQuery(q, [], "prune images");
    const body = await parseBody("ImagePruneRequest", await readJson(req, MAX_SMALL_BODY), "prune images");
    return sendJson(res, 200, await api.pruneImages({ all: body.all === true }));
  }
  if (op === "build" && method === "POST") return build(ctx);
  if (op === "pull" && method === "POST") return pull(ctx);
  if (op === "push" && method === "POST") return push(ctx);
  throw notFound(`route ${method} ${url.pathname}: not found`);
}

/** The archive is staged in a file first (an archive's index may come last); the file goes when the request ends. */
async function load({ api, url, req, res, signal, limits, staging }: RouteContext) {
  checkQuery(url.searchParams, [], "load images");
  const body = uploadBody(req, limits.maxUploadBytes, "load images");
  const file = await staging.file();
  let loaded: ImageRecord[];
  try {
    await pipeline(Readable.from(body), createWriteStream(file, { flags: "wx", mode: 0o600 }), { signal });
    loaded = await api.loadImages(file, signal);
  } finally {
    await fs.rm(file, { force: true });
  }
  sendJson(res, 200, { loaded } satisfies ImageLoadResponse);
}

/** The rootfs streams into the store as it arrives; reference and changes are checked before any of it is read. */
async function importImage({ api, url, req, res, signal, limits }: RouteContext) {
  const what = "import image";
  const q = url.searchParams;
  checkQuery(q, ["reference", "change"], what);
  const references = q.getAll("reference");
  if (references.length !== 1) throw invalidArgument(`${what}: expected one reference parameter, got ${references.length}`);
  const reference = references[0]!;
  normalizeTaggedReference(reference);
  let config: ImageRuntimeConfig = {};
  for (const change of q.getAll("change")) {
    try {
      config = applyChange(config, change);
    } catch (err) {
      throw invalidArgument(`${what}: change ${JSON.stringify(change)}: ${errorMessage(err)}`);
    }
  }
  const body = uploadBody(req, limits.maxUploadBytes, what);
  sendJson(res, 200, await api.importImage(body, reference, config, signal));
}

/** The archive is written whole to a staged file, then sent with its length; the file goes when the request ends. */
async function save({ api, url, res, signal, staging }: RouteContext) {
  checkQuery(url.searchParams, ["ref"], "save images");
  const refs = refsOf(url.searchParams, "save images");
  const file = await staging.file();
  try {
    await api.saveImages(refs, file);
    const { size } = await fs.stat(file);
    res.writeHead(200, { "content-type": TAR_CONTENT_TYPE, "content-length": size, "cache-control": "no-store" });
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res, { signal });
  } finally {
    await fs.rm(file, { force: true });
  }
}

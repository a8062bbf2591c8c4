import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { notImplemented } from "../../lib/errors.js";
import { ManualClock } from "../../lib/clock.js";
import { openContentStore, type FsContentStore } from "../../runtime/content/content-store.js";
import { imageHistoryOf } from "../../runtime/images/image-history.js";
import { openImageStore, type FsImageStore } from "../../runtime/images/image-store.js";
import { buildDockerSaveArchive, buildImage, tarBuffer } from "../../test/helpers/image-fixtures.js";
import { ApiClient, isNoDaemon } from "./client.js";
import { ApiServer } from "./server.js";
import { fakeApi } from "./testing.js";
import type { ControllerApi } from "./types.js";

const LIMIT = 256 * 1024;

/** The ControllerApi's image half as the Controller has it: delegation to a real store. */
function imageApi(root: string, images: FsImageStore): ControllerApi {
  const no = () => Promise.reject(notImplemented("not in this test"));
  return fakeApi({
    version: () => ({ version: "0.1.0", pid: 1, root, runRoot: "/rr", startedAt: "t" }),
    events: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    logs: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    imageHistory: (ref) => imageHistoryOf(images, ref),
    listImages: () => images.list(),
    inspectImages: async (refs) => Promise.all(refs.map((r) => images.get(r))),
    loadImages: (file, signal) => images.load(file, { signal }),
    importImage: (rootfs, reference, config, signal) => images.importRootfs(rootfs, reference, { config, signal }),
    saveImages: (refs, outFile) => images.save(refs, outFile),
    tagImage: (s, t) => images.tag(s, t),
    removeImage: (ref, o) => images.remove(ref, o),
    pruneImages: (o) => images.prune({ dangling: !o.all }),
    // build, pull, push and login: image-transfer-routes.test.ts
  });
}

async function* chunks(buf: Buffer, size = 16 * 1024) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const rootfs = () => tarBuffer([{ name: "etc/", type: "directory" }, { name: "etc/os-release", data: "ID=fixture\n" }, { name: "bin/sh", data: "#!fake\n", mode: 0o755 }]);

/** A rootfs tarball of about `bytes` (random data does not compress: the stored size is about the same). */
const bigRootfs = (bytes: number) => tarBuffer([{ name: "blob", data: randomBytes(bytes) }]);

describe("image store routes, over a unix socket against a real store", () => {
  let dir: string;
  let root: string;
  let socket: string;
  let content: FsContentStore;
  let images: FsImageStore;
  let server: ApiServer;
  let client: ApiClient;

  const tmpFiles = async () => (await fs.readdir(path.join(root, "tmp")).catch(() => [] as string[])).filter((n) => n.startsWith("api-"));
  const ingests = async () => fs.readdir(content.ingestDir).catch(() => [] as string[]);

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "berth-api-images-"));
    root = path.join(dir, "root");
    socket = path.join(dir, "berth.sock");
    content = await openContentStore({ root });
    images = await openImageStore({ root, content, clock: new ManualClock() });
    await fs.mkdir(path.join(root, "tmp"));
    await fs.writeFile(path.join(root, "tmp", "api-stale.tar"), "left by a crashed daemon");
    server = new ApiServer(imageApi(root, images), { socketPath: socket, logger: pino({ level: "silent" }), maxUploadBytes: LIMIT, drainAfterErrorMs: 2_000 });
    await server.listen();
    client = new ApiClient(socket);
  });
  afterEach(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A raw HTTP request (headers as given), the whole answer. */
  const raw = (head: string, body?: Buffer | string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = net.connect(socket, () => {
        s.write(`${head}\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
        if (body !== undefined) s.write(body);
      });
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve({ status: Number(out.split(" ")[1]), body: out.slice(out.indexOf("\r\n\r\n") + 4) }));
      s.on("error", reject);
    });
  const errorOf = (r: { body: string }) => JSON.parse(r.body).error as { kind: string; message: string };

  it("removes staged files of a previous server at listen", async () => {
    expect(await tmpFiles()).toEqual([]);
  });

  it("imports (file and stream, with changes), lists, inspects, tags, saves, loads, removes, prunes", async () => {
    const tarball = path.join(dir, "rootfs.tar");
    await fs.writeFile(tarball, await rootfs());
    const a = await client.importImage(tarball, "localhost/a:1", ["CMD [\"sh\"]", "ENV MODE=test"]);
    expect(a.references).toEqual(["localhost/a:1"]);
    expect(a.config).toEqual({ Cmd: ["sh"], Env: ["MODE=test"] });
    const b = await client.importImage(chunks(await rootfs(), 100), "localhost/b:1");
    expect(b.diffIds).toEqual(a.diffIds);

    expect((await client.listImages()).flatMap((i) => i.references).sort()).toEqual(["localhost/a:1", "localhost/b:1"]);
    expect((await client.inspectImages(["localhost/a:1", a.digest, a.configDigest.slice(7, 19)])).map((i) => i.digest)).toEqual([a.digest, a.digest, a.digest]);
    await expect(client.inspectImages(["localhost/a:1", "localhost/nope"])).rejects.toMatchObject({ kind: "NotFound", message: "get image localhost/nope: not found" });

    expect((await client.tagImage("localhost/a:1", "localhost/tools:2")).references).toEqual(["localhost/a:1", "localhost/tools:2"]);

    const archive = path.join(dir, "saved.tar");
    const size = await client.saveImages(["localhost/a:1", "localhost/tools:2"], { file: archive });
    expect((await fs.stat(archive)).size).toBe(size);
    const piped: Buffer[] = [];
    const sink = new PassThrough().on("data", (c: Buffer) => piped.push(c));
    expect(await client.saveImages(["localhost/a:1"], { stream: sink })).toBeGreaterThan(1024);
    await expect.poll(tmpFiles).toEqual([]);

    expect(await client.removeImage("localhost/tools:2")).toEqual({ untagged: ["localhost/tools:2"], deleted: [] });
    await expect(client.removeImage(a.digest)).resolves.toMatchObject({ untagged: ["localhost/a:1"], deleted: expect.arrayContaining([a.digest]) });
    await expect(client.inspectImages([a.digest])).rejects.toMatchObject({ kind: "NotFound" });

    const loaded = await client.loadImages(archive);
    // (the store reports an image once per archive index entry: here one per reference)
    expect(new Set(loaded.map((i) => i.digest))).toEqual(new Set([a.digest]));
    expect(loaded[0]!.references).toEqual(["localhost/a:1", "localhost/tools:2"]);
    const again = await client.loadImages(chunks(Buffer.concat(piped)));
    expect(again.map((i) => i.digest)).toEqual([a.digest]);
    expect(await tmpFiles()).toEqual([]);

    await client.removeImage("localhost/b:1");
    expect(await client.pruneImages({ all: true })).toEqual({ deletedBlobs: 0, deletedSnapshots: 0, reclaimedBytes: 0 });
    expect(await client.pruneImages()).toMatchObject({ deletedBlobs: 0 });
  });

  it("reads an image's history from its config: newest first, with the layer's size (the blob's: no snapshot store here)", async () => {
    const a = await client.importImage(chunks(await rootfs()), "localhost/a:1");
    expect(await client.imageHistory("localhost/a:1")).toEqual({
      id: a.configDigest,
      items: [{ created: a.created, createdBy: "berth import", comment: "imported from a rootfs tarball", emptyLayer: false, size: a.layers[0]!.size }],
    });
    await expect(client.imageHistory("localhost/nope")).rejects.toMatchObject({ kind: "NotFound", message: "get image localhost/nope: not found" });
  });

  it("loads a docker save archive made elsewhere", async () => {
    const img = { layers: [await tarBuffer([{ name: "hello.txt", data: "hi\n" }])], config: { Cmd: ["/hello"] }, repoTags: ["localhost/hello:1"] };
    const loaded = await client.loadImages(chunks(await buildDockerSaveArchive([img], "modern")));
    expect(loaded.map((i) => [i.configDigest, i.references])).toEqual([[buildImage(img).configDigest, ["localhost/hello:1"]]]);
    expect(loaded[0]!.config).toMatchObject({ Cmd: ["/hello"] });
  });

  it("refuses unknown fields and parameters, bad refs, bad changes and wrong content types", async () => {
    const json = (method: string, p: string, body: unknown) => {
      const text = JSON.stringify(body);
      return raw(`${method} ${p} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}`, text);
    };
    const cases: [() => Promise<{ status: number; body: string }>, number, string][] = [
      [() => json("POST", "/v1/image-store/tag", { source: "a", target: "b", force: true }), 400, 'tag image: unknown field "force" (known fields: source, target)'],
      [() => json("POST", "/v1/image-store/tag", { source: "a" }), 400, 'tag image: missing required field "target"'],
      [() => json("POST", "/v1/image-store/tag", { source: "Bad Ref", target: "b" }), 400, 'tag image: "Bad Ref" is not an image reference, digest or ID'],
      [() => json("POST", "/v1/image-store/tag", { source: "a", target: `b@sha256:${"a".repeat(64)}` }), 400, "a digest reference cannot name a tag"],
      [() => json("POST", "/v1/image-store/prune", { all: "yes" }), 400, 'prune images: body.all: expected true or false, got "yes"'],
      [() => json("POST", "/v1/image-store/prune", { dangling: true }), 400, 'prune images: unknown field "dangling"'],
      [() => raw("GET /v1/image-store?all=1 HTTP/1.1"), 400, 'list images: all must be true or false, got "1"'],
      [() => raw("GET /v1/image-store?every=true HTTP/1.1"), 400, 'list images: unknown parameter "every"'],
      [() => raw("GET /v1/image-store/inspect HTTP/1.1"), 400, "inspect images: expected a ref parameter"],
      [() => raw("GET /v1/image-store/inspect?ref=Bad%20Ref HTTP/1.1"), 400, 'inspect images: "Bad Ref" is not an image reference, digest or ID'],
      [() => raw("GET /v1/image-store/save?ref=..%2F..%2Fetc HTTP/1.1"), 400, "is not an image reference"],
      [() => raw("DELETE /v1/image-store?ref=a&ref=b HTTP/1.1"), 400, "remove image: expected one ref parameter, got 2"],
      [() => raw("DELETE /v1/image-store?ref=a&force=yes HTTP/1.1"), 400, 'remove image: force must be true or false, got "yes"'],
      [() => raw("DELETE /v1/image-store?ref=a HTTP/1.1"), 404, "get image a: not found"],
      [() => raw("POST /v1/image-store/import?reference=Bad%20Ref HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 3", "abc"), 400, 'parse reference "Bad Ref"'],
      [() => raw("POST /v1/image-store/import HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 3", "abc"), 400, "import image: expected one reference parameter, got 0"],
      [() => raw("POST /v1/image-store/import?reference=x&change=RUN%20rm HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 3", "abc"), 400, 'import image: change "RUN rm": unsupported change instruction RUN'],
      [() => raw("POST /v1/image-store/import?reference=x&tag=1 HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 3", "abc"), 400, 'import image: unknown parameter "tag"'],
      [() => raw("POST /v1/image-store/load HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2", "{}"), 415, 'load images: content type "application/json" is not application/x-tar'],
      [() => raw("POST /v1/image-store/load HTTP/1.1\r\nContent-Length: 3", "abc"), 415, 'load images: content type none is not application/x-tar'],
      [() => raw("POST /v1/image-store/load HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 0"), 400, "load images: expected a tar archive as the request body"],
      [() => raw("POST /v1/image-store/load HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: 9", "not a tar"), 400, "load images"],
      [() => raw("PUT /v1/image-store HTTP/1.1\r\nContent-Type: application/json"), 404, "route PUT /v1/image-store: not found"],
      [() => raw("GET /v1/image-store/pull HTTP/1.1"), 404, "not found"],
    ];
    // all at once: answers given before a body was read must reach clients that are still sending
    const answers = await Promise.all(
      cases.map(([request, , message]) => request().catch((err: Error) => ({ status: 0, body: JSON.stringify({ error: { message: `${message}: ${err.message}` } }) }))),
    );
    for (const [i, [, status, message]] of cases.entries()) {
      const r = answers[i]!;
      expect(r.status, `${message}: ${r.body}`).toBe(status);
      expect(errorOf(r).message).toContain(message);
    }
    expect(await images.list()).toEqual([]);
    expect(await tmpFiles()).toEqual([]);
    expect(await client.listImages()).toEqual([]);
  });

  it("refuses oversize uploads, declared or not, and the client hears why; nothing is left behind", async () => {
    const declared = await raw(`POST /v1/image-store/load HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: ${LIMIT + 1}`);
    expect(declared.status).toBe(400);
    expect(errorOf(declared).message).toBe(`load images: upload of ${LIMIT + 1} bytes is over the limit of ${LIMIT}`);

    const big = await bigRootfs(4 * LIMIT);
    const file = path.join(dir, "big.tar");
    await fs.writeFile(file, big);
    // a file is sent with its length: refused before its body is read
    await expect(client.loadImages(file)).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringContaining("is over the limit") });
    // a stream is sent chunked: refused when the count passes the limit, while the client is still sending
    await expect(client.loadImages(chunks(big))).rejects.toMatchObject({ kind: "InvalidArgument", message: `load images: upload is over the limit of ${LIMIT} bytes` });
    await expect(client.importImage(chunks(big), "localhost/big:1")).rejects.toMatchObject({ kind: "InvalidArgument", message: `import image: upload is over the limit of ${LIMIT} bytes` });
    await expect(client.importImage(file, "localhost/big:1")).rejects.toMatchObject({ kind: "InvalidArgument" });

    expect(await tmpFiles()).toEqual([]);
    expect(await ingests()).toEqual([]);
    expect(await content.list()).toEqual([]);
    expect(await client.listImages()).toEqual([]);
  });

  it("leaves nothing behind when the client goes away mid-upload (load and import), and keeps serving", async () => {
    const abortAfter = async (route: string, until: () => Promise<boolean>) => {
      const s = net.connect(socket);
      await new Promise((r) => s.once("connect", r));
      s.write(`POST ${route} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-tar\r\nContent-Length: ${LIMIT}\r\n\r\n`);
      s.write(randomBytes(LIMIT / 4));
      await expect.poll(until, { timeout: 5_000 }).toBe(true);
      s.destroy();
    };
    await abortAfter("/v1/image-store/load", async () => (await tmpFiles()).length === 1);
    await expect.poll(tmpFiles, { timeout: 5_000 }).toEqual([]);

    await abortAfter("/v1/image-store/import?reference=localhost/half:1", async () => (await ingests()).length === 1);
    await expect.poll(ingests, { timeout: 5_000 }).toEqual([]);

    // the client's own abort signal does the same
    const ac = new AbortController();
    const body = new PassThrough();
    const pending = client.importImage(body, "localhost/half:2", [], ac.signal);
    body.write(randomBytes(LIMIT / 4));
    await expect.poll(async () => (await ingests()).length, { timeout: 5_000 }).toBe(1);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await expect.poll(ingests, { timeout: 5_000 }).toEqual([]);

    expect(await content.list()).toEqual([]);
    expect(await client.listImages()).toEqual([]);
    expect((await client.importImage(chunks(await rootfs()), "localhost/whole:1")).references).toEqual(["localhost/whole:1"]);
  });

  it("removes the staged archive when the client goes away mid-download", async () => {
    await images.importRootfs(chunks(await bigRootfs(4 * 1024 * 1024)), "localhost/big:1");
    const s = net.connect(socket, () => s.write("GET /v1/image-store/save?ref=localhost/big:1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const first = await new Promise<string>((resolve) => s.once("data", (d: Buffer) => resolve(d.toString("latin1"))));
    expect(first).toMatch(/^HTTP\/1.1 200 OK\r\n[^]*content-type: application\/x-tar/i);
    expect(await tmpFiles()).toHaveLength(1);
    s.destroy();
    await expect.poll(tmpFiles, { timeout: 5_000 }).toEqual([]);
    expect((await client.listImages()).length).toBe(1);
  });

  it("tells a missing daemon apart from other failures", async () => {
    const none = new ApiClient(path.join(dir, "none.sock"));
    const err = await none.listImages().catch((e: unknown) => e);
    expect(isNoDaemon(err)).toBe(true);
    const upload = await none.loadImages(chunks(Buffer.from("x"))).catch((e: unknown) => e);
    expect(isNoDaemon(upload)).toBe(true);
    expect(isNoDaemon(await client.inspectImages(["nope"]).catch((e: unknown) => e))).toBe(false);
    expect(existsSync(path.join(dir, "none.sock"))).toBe(false);
  });
});

import * as net from "node:net";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failedPrecondition, notFound } from "../../lib/errors.js";
import type { ApiClient } from "./client.js";
import type { ContainerPathStat } from "./protocol.js";
import { fakeApi as rejectingApi, serveApi, type ServedApi } from "./testing.js";

/** `HEAD|GET|PUT /v1/containers/web/archive` (berth cp) over a fake facade. */
const STAT: ContainerPathStat = { name: "passwd", size: 12, mode: 0o644, mtime: "2024-01-02T03:04:05.000Z", linkTarget: "" };

function fakeApi() {
  const seen: { puts: { path: string; body: string; copyUIDGID: boolean }[] } = { puts: [] };
  const known = (name: string, p: string) => {
    if (name !== "web") throw notFound(`copy container ${name}: not found`, { object: { kind: "Container", name } });
    if (p !== "/etc/passwd" && p !== "/tmp") throw notFound(`copy from ${name}:${p}: not found in container ${name}`);
  };
  const api = rejectingApi({
    version: () => ({ version: "0.1.0", pid: 1, root: "/r", runRoot: "/rr", startedAt: "t" }),
    statContainerPath: async (name: string, p: string) => {
      known(name, p);
      return STAT;
    },
    archiveContainerPath: async (name: string, p: string, out: NodeJS.WritableStream, _signal: AbortSignal, onStat: (s: ContainerPathStat) => void) => {
      known(name, p);
      onStat(STAT);
      await new Promise<void>((resolve) => out.write("tar bytes", () => resolve()));
      out.end();
    },
    extractToContainer: async (name: string, p: string, tar: AsyncIterable<Uint8Array>, o: { copyUIDGID: boolean }) => {
      known(name, p);
      let body = "";
      for await (const c of tar) body += Buffer.from(c).toString();
      if (body === "readonly") throw failedPrecondition(`copy to ${name}:${p}: the destination is on a read-only file system`);
      seen.puts.push({ path: p, body, copyUIDGID: o.copyUIDGID });
      return 3;
    },
  });
  return { api, seen };
}

describe("container archive routes (berth cp)", () => {
  let served: ServedApi;
  let socket: string;
  let client: ApiClient;
  let seen: ReturnType<typeof fakeApi>["seen"];

  beforeEach(async () => {
    const f = fakeApi();
    seen = f.seen;
    served = await serveApi(f.api, "berth-api-archive-");
    ({ socketPath: socket, client } = served);
  });
  afterEach(() => served.close());

  const raw = (head: string, extra = "", body = "") =>
    new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
      const s = net.connect(socket, () => s.write(`${head}\r\nHost: localhost${extra}\r\nConnection: close\r\n\r\n${body}`));
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve({ status: Number(out.split(" ")[1]), headers: out.slice(0, out.indexOf("\r\n\r\n")), body: out.slice(out.indexOf("\r\n\r\n") + 4) }));
      s.on("error", reject);
    });

  it("HEAD: the stat as Docker's X-Docker-Container-Path-Stat header (base64 JSON), no body; a missing path is 404", async () => {
    const r = await raw("HEAD /v1/containers/web/archive?path=%2Fetc%2Fpasswd HTTP/1.1");
    expect(r.status).toBe(200);
    const header = /x-docker-container-path-stat: (\S+)/i.exec(r.headers)?.[1];
    expect(JSON.parse(Buffer.from(header!, "base64").toString())).toEqual(STAT);
    expect(r.body).toBe("");
    expect((await raw("HEAD /v1/containers/web/archive?path=%2Fnope HTTP/1.1")).status).toBe(404);
  });

  it("GET ?stat=true through the client; errors keep their kind and message", async () => {
    expect(await client.statContainerPath("web", "/etc/passwd")).toEqual(STAT);
    await expect(client.statContainerPath("web", "/nope")).rejects.toMatchObject({ kind: "NotFound", message: "copy from web:/nope: not found in container web" });
    await expect(client.statContainerPath("nope", "/etc/passwd")).rejects.toMatchObject({ kind: "NotFound", object: { kind: "Container", name: "nope" } });
  });

  it("GET: the stat header, then the tar; a path is required, unknown parameters refused", async () => {
    const { stat, tar } = await client.archiveContainerPath("web", "/etc/passwd");
    expect(stat).toEqual(STAT);
    let body = "";
    for await (const c of tar) body += c.toString();
    expect(body).toBe("tar bytes");
    const r = await raw("GET /v1/containers/web/archive?path=%2Fetc%2Fpasswd HTTP/1.1");
    expect(r.headers).toMatch(/content-type: application\/x-tar/i);
    const none = await raw("GET /v1/containers/web/archive HTTP/1.1");
    expect([none.status, JSON.parse(none.body).error.message]).toEqual([400, "copy from container web: the path query parameter is required"]);
    const extra = await raw("GET /v1/containers/web/archive?path=%2Ftmp&follow=1 HTTP/1.1");
    expect([extra.status, JSON.parse(extra.body).error.message]).toEqual([400, 'copy from container web: unknown parameter "follow"']);
  });

  it("PUT: a tar body (tar content type only) extracted into the path, copyUIDGID passed on; errors are answers", async () => {
    expect(await client.extractToContainer("web", "/tmp", Readable.from([Buffer.from("a tar")]), { copyUIDGID: true })).toEqual({ entries: 3 });
    expect(await client.extractToContainer("web", "/tmp", Readable.from([Buffer.from("another")]))).toEqual({ entries: 3 });
    expect(seen.puts).toEqual([
      { path: "/tmp", body: "a tar", copyUIDGID: true },
      { path: "/tmp", body: "another", copyUIDGID: false },
    ]);
    await expect(client.extractToContainer("web", "/tmp", Readable.from([Buffer.from("readonly")]))).rejects.toMatchObject({ kind: "FailedPrecondition" });
    const json = await raw("PUT /v1/containers/web/archive?path=%2Ftmp HTTP/1.1", "\r\nContent-Type: application/json\r\nContent-Length: 2", "{}");
    expect(json.status).toBe(415);
    const overwrite = await raw("PUT /v1/containers/web/archive?path=%2Ftmp&noOverwriteDirNonDir=false HTTP/1.1", "\r\nContent-Type: application/x-tar\r\nContent-Length: 1", "x");
    expect([overwrite.status, JSON.parse(overwrite.body).error.message]).toEqual([400, "copy to container web: noOverwriteDirNonDir=false is not supported"]);
    expect(seen.puts).toHaveLength(2);
  });
});

import * as net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { notFound, notImplemented } from "../../lib/errors.js";
import type { ApiClient } from "./client.js";
import type { ContainerCommitRequest } from "./protocol.js";
import { fakeApi as rejectingApi, serveApi, type ServedApi } from "./testing.js";
import type { ControllerApi } from "./types.js";

/** `GET|POST /v1/containers/web/{changes,commit,export}` and `GET /v1/image-store/history` over a fake facade. */
function fakeApi() {
  const no = () => Promise.reject(notImplemented("fake"));
  const seen: { commits: ContainerCommitRequest[]; history: string[] } = { commits: [], history: [] };
  const known = (name: string, verb: string) => {
    if (name !== "web") throw notFound(`${verb} container ${name}: not found`, { object: { kind: "Container", name } });
  };
  const api: ControllerApi = rejectingApi({
    version: () => ({ version: "0.1.0", pid: 1, root: "/r", runRoot: "/rr", startedAt: "t" }),
    events: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    logs: () => ({ [Symbol.asyncIterator]: () => ({ next: no }) }),
    changes: async (name) => {
      known(name, "diff");
      return [{ kind: "D", path: "/etc/motd" }];
    },
    commit: async (name, req) => {
      known(name, "commit");
      seen.commits.push(req);
      return { references: [], digest: "sha256:d", configDigest: "sha256:c", layers: [], diffIds: [], chainIds: [], config: {}, os: "linux", architecture: "amd64", size: 0 };
    },
    exportContainer: async (name, out) => {
      known(name, "export");
      await new Promise<void>((resolve) => out.write("part one,", () => resolve()));
      out.end("part two");
    },
    imageHistory: async (ref) => {
      seen.history.push(ref);
      return { id: "sha256:c", items: [{ emptyLayer: true, size: 0 }] };
    },
  });
  return { api, seen };
}

describe("container layer and image history routes", () => {
  let served: ServedApi;
  let socket: string;
  let client: ApiClient;
  let seen: ReturnType<typeof fakeApi>["seen"];

  beforeEach(async () => {
    const f = fakeApi();
    seen = f.seen;
    served = await serveApi(f.api, "berth-api-layers-");
    ({ socketPath: socket, client } = served);
  });
  afterEach(() => served.close());

  const raw = (head: string, body?: string) =>
    new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
      const s = net.connect(socket, () => {
        const len = body === undefined ? "" : `\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`;
        s.write(`${head}\r\nHost: localhost${len}\r\nConnection: close\r\n\r\n${body ?? ""}`);
      });
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve({ status: Number(out.split(" ")[1]), headers: out.slice(0, out.indexOf("\r\n\r\n")), body: out.slice(out.indexOf("\r\n\r\n") + 4) }));
      s.on("error", reject);
    });
  const errorOf = (r: { body: string }) => JSON.parse(r.body).error as { kind: string; message: string };

  it("changes: the items; an unknown container 404 naming it; no parameters", async () => {
    expect(await client.changes("web")).toEqual([{ kind: "D", path: "/etc/motd" }]);
    await expect(client.changes("nope")).rejects.toMatchObject({ kind: "NotFound", message: "diff container nope: not found", object: { kind: "Container", name: "nope" } });
    const r = await raw("GET /v1/containers/web/changes?all=1 HTTP/1.1");
    expect([r.status, errorOf(r).message]).toEqual([400, 'diff container: unknown parameter "all"']);
  });

  it("commit: the body is validated against ContainerCommitRequest", async () => {
    expect((await client.commit("web", { reference: "localhost/web:2", changes: ["ENV A=1"], comment: "c" })).configDigest).toBe("sha256:c");
    expect(seen.commits).toEqual([{ reference: "localhost/web:2", changes: ["ENV A=1"], comment: "c" }]);
    const bad = await raw("POST /v1/containers/web/commit HTTP/1.1", JSON.stringify({ pause: true, changes: "CMD sh" }));
    expect([bad.status, errorOf(bad).message]).toEqual([400, 'commit container web: unknown field "pause" (known fields: reference, changes, comment, author); body.changes: expected a list, got "CMD sh"']);
    const empty = await raw("POST /v1/containers/web/commit HTTP/1.1");
    expect(empty.status).toBe(415);
    expect(seen.commits).toHaveLength(1);
  });

  it("export: the tar chunked as it is written; an error before its first byte is an ordinary error answer", async () => {
    const r = await raw("GET /v1/containers/web/export HTTP/1.1");
    expect(r.status).toBe(200);
    expect(r.headers).toMatch(/content-type: application\/x-tar/i);
    expect(r.headers).toMatch(/transfer-encoding: chunked/i);
    const chunks: Buffer[] = [];
    const sink = new (await import("node:stream")).PassThrough().on("data", (c: Buffer) => chunks.push(c));
    expect(await client.exportContainer("web", { stream: sink })).toBe(17);
    expect(Buffer.concat(chunks).toString()).toBe("part one,part two");
    const missing = await raw("GET /v1/containers/nope/export HTTP/1.1");
    expect([missing.status, missing.headers.match(/content-type: (\S+)/i)?.[1], errorOf(missing).message]).toEqual([404, "application/json", "export container nope: not found"]);
  });

  it("image history: exactly one ref", async () => {
    expect(await client.imageHistory("busybox")).toEqual({ id: "sha256:c", items: [{ emptyLayer: true, size: 0 }] });
    expect(seen.history).toEqual(["busybox"]);
    for (const [q, message] of [
      ["", "read image history: expected a ref parameter"],
      ["?ref=a&ref=b", "read image history: expected one ref parameter, got 2"],
      ["?ref=Bad%20Ref", 'read image history: "Bad Ref" is not an image reference, digest or ID'],
      ["?ref=a&limit=1", 'read image history: unknown parameter "limit"'],
    ] as const) {
      const r = await raw(`GET /v1/image-store/history${q} HTTP/1.1`);
      expect([r.status, errorOf(r).message]).toEqual([400, message]);
    }
  });
});

import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { invalidArgument, notFound } from "../../lib/errors.js";
import type { BuildEvent } from "../../runtime/build/executor/builder.js";
import { UsageError } from "../errors.js";
import { startHarness, type Harness } from "../testing.js";
import { buildRequestOf, loginCredentials, parseBuildArgs, runBuild, runLogin, runLogout, runPull, runPush, type BuildOptions, type TransferContext } from "./image-transfer.js";

const base: BuildOptions = { tag: [], buildArg: [], cache: true, progress: "auto", quiet: false };
const MF = `sha256:${"f".repeat(64)}`;

describe("berth image build arguments", () => {
  let h: Harness;
  beforeEach(async () => (h = await startHarness()));
  afterEach(() => h.close());

  it("sends the context as an absolute path, -f inside it as its path there, outside it or - as the text", async () => {
    const ctxDir = path.join(h.dir, "app");
    mkdirSync(path.join(ctxDir, "docker"), { recursive: true });
    writeFileSync(path.join(ctxDir, "docker", "Dockerfile.dev"), "FROM scratch\n");
    writeFileSync(path.join(h.dir, "Outside.Dockerfile"), "FROM busybox\n");
    const io = { stdin: Readable.from([]), cwd: h.dir, env: { FROM_ENV: "e" } };
    expect(await buildRequestOf("app", { ...base, tag: ["localhost/a:1"] }, io)).toEqual({ context: ctxDir, tags: ["localhost/a:1"] });
    expect(await buildRequestOf("app", { ...base, file: "app/docker/Dockerfile.dev" }, io)).toEqual({ context: ctxDir, tags: [], dockerfile: "docker/Dockerfile.dev" });
    expect(await buildRequestOf("app", { ...base, file: "Outside.Dockerfile" }, io)).toEqual({ context: ctxDir, tags: [], dockerfileText: "FROM busybox\n" });
    expect(await buildRequestOf("app", { ...base, file: "-" }, { ...io, stdin: Readable.from([Buffer.from("FROM x\n")]) })).toEqual({ context: ctxDir, tags: [], dockerfileText: "FROM x\n" });
    expect(
      await buildRequestOf("app", { ...base, buildArg: ["A=1", "B=", "FROM_ENV", "UNSET"], target: "build", cache: false, network: "none" }, io),
    ).toEqual({ context: ctxDir, tags: [], buildArgs: { A: "1", B: "", FROM_ENV: "e" }, target: "build", noCache: true, network: "none" });
  });

  it("refuses a bad tag, a missing -f file, a context on stdin or a URL before asking the daemon", async () => {
    const io = { stdin: Readable.from([]), cwd: h.dir };
    await expect(buildRequestOf(".", { ...base, tag: ["Bad:Tag:x"] }, io)).rejects.toMatchObject({ kind: "InvalidArgument", message: expect.stringMatching(/^build image: -t "Bad:Tag:x": /) });
    await expect(buildRequestOf(".", { ...base, file: "/nope/Dockerfile" }, io)).rejects.toMatchObject({ message: "build image: read Dockerfile /nope/Dockerfile: no such file" });
    await expect(buildRequestOf("-", base, io)).rejects.toBeInstanceOf(UsageError);
    await expect(buildRequestOf("https://example.com/repo.git", base, io)).rejects.toBeInstanceOf(UsageError);
    expect(() => parseBuildArgs(["=1"])).toThrow(UsageError);
  });
});

describe("build, pull, push, login and logout through the API (a fake controller)", () => {
  let h: Harness;
  let ctx: TransferContext;
  beforeEach(async () => {
    h = await startHarness();
    ctx = { stdout: h.stdout, stderr: h.stderr, stdin: h.ctx.stdin, daemon: async () => h.ctx.client, withRegistry: () => Promise.reject(new Error("no local registry in this test")) };
  });
  afterEach(() => h.close());

  it("build streams the events as lines and ends with Docker's; the request is what the daemon got", async () => {
    h.fake.buildEvents = [
      { type: "step", stage: "0", step: 1, steps: 2, text: "FROM scratch" },
      { type: "step", stage: "0", step: 2, steps: 2, text: "RUN echo hi" },
      { type: "output", stream: "stdout", line: "hi" },
      { type: "done", image: MF, configDigest: `sha256:${"e".repeat(64)}`, tags: ["localhost/a:1"], seconds: 0.1 },
    ];
    expect(await runBuild(ctx, h.dir, { ...base, tag: ["localhost/a:1"], network: "none" })).toBe(0);
    expect(h.stdout.text).toBe("#1 [stage-0 1/2] FROM scratch\n#2 [stage-0 2/2] RUN echo hi\nhi\nSuccessfully built eeeeeeeeeeee\nSuccessfully tagged localhost/a:1\n");
    expect(h.fake.builds).toEqual([{ context: h.dir, tags: ["localhost/a:1"], network: "none" }]);
  });

  it("a failed build prints the located error (no stack) after the output so far and exits 1", async () => {
    h.fake.buildEvents = [{ type: "step", stage: "0", step: 1, steps: 1, text: "RUN false" }];
    h.fake.buildFails = invalidArgument("Dockerfile:3:1: RUN false: The command '/bin/sh -c false' returned a non-zero code: 1");
    expect(await runBuild(ctx, h.dir, base)).toBe(1);
    expect(h.stdout.text).toBe("#1 [stage-0 1/1] RUN false\n");
    expect(h.stderr.text).toBe("berth: Dockerfile:3:1: RUN false: The command '/bin/sh -c false' returned a non-zero code: 1\n");
  });

  it("build needs the daemon: without one it says so", async () => {
    await expect(runBuild({ ...ctx, daemon: async () => undefined }, h.dir, base)).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("needs a running berth daemon") });
  });

  it("the route refuses a relative context and a bad tag as ordinary error answers, before any build", async () => {
    const post = (body: unknown) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request({ socketPath: h.ctx.client.socketPath, method: "POST", path: "/v1/image-store/build", headers: { "content-type": "application/json" } }, async (res) => {
          let text = "";
          for await (const c of res) text += c;
          resolve({ status: res.statusCode!, text });
        });
        req.on("error", reject);
        req.end(JSON.stringify(body));
      });
    expect(await post({ context: "app", tags: [] })).toEqual({ status: 400, text: expect.stringContaining("is not an absolute path") });
    expect(await post({ context: "/app", tags: ["not a tag"] })).toMatchObject({ status: 400 });
    expect(await post({ context: "/app", tags: [], network: "overlay" })).toMatchObject({ status: 400 });
    expect(h.fake.builds).toEqual([]);
  });

  it("the client going away aborts the build (its signal)", async () => {
    let aborted: Promise<unknown> | undefined;
    h.fake.buildImage = (_req: unknown, onEvent: (e: BuildEvent) => void, signal?: AbortSignal) => {
      if (!signal) throw new Error("no signal");
      onEvent({ type: "step", stage: "0", step: 1, steps: 1, text: "RUN sleep 1000" });
      aborted = new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
      return aborted.then(() => Promise.reject(new Error("aborted")));
    };
    const ac = new AbortController();
    const events = h.ctx.client.buildImage({ context: "/app", tags: [] }, ac.signal);
    for await (const e of events) {
      expect(e).toMatchObject({ type: "step" });
      ac.abort();
    }
    await expect(aborted).resolves.toBeDefined();
  });

  it("pull prints the layers and Docker's summary; an error event is thrown as its kind", async () => {
    h.fake.transferEvents = [
      { kind: "resolved", reference: "localhost:5000/app:1", digest: MF, mediaType: "m", endpoint: "http://localhost:5000" },
      { kind: "blob", digest: MF, mediaType: "m", role: "layer", status: "exists", done: 1, total: 1 },
      { kind: "pulled", reference: "localhost:5000/app:1", digest: MF, id: MF, endpoint: "http://localhost:5000", blobs: [{ digest: MF, outcome: "exists" }] },
    ];
    expect(await runPull(ctx, "localhost:5000/app:1", { allTags: false, quiet: false })).toBe(0);
    expect(h.stdout.text).toBe(`1: Pulling from app\nffffffffffff: Already exists\nDigest: ${MF}\nStatus: Image is up to date for localhost:5000/app:1\nlocalhost:5000/app:1\n`);
    expect(h.fake.pulls).toEqual([{ reference: "localhost:5000/app:1" }]);
    h.fake.transferEvents = [];
    h.fake.transferFails = notFound("pull image localhost:5000/app:2: manifest unknown");
    await expect(runPull(ctx, "localhost:5000/app:2", { allTags: false, quiet: true })).rejects.toMatchObject({ kind: "NotFound", message: "pull image localhost:5000/app:2: manifest unknown" });
    await expect(runPull(ctx, "app:1", { allTags: true, quiet: false })).rejects.toBeInstanceOf(UsageError);
  });

  it("pull without a tag says it uses latest; with --all-tags sends the repository", async () => {
    h.fake.transferEvents = [{ kind: "pulled", reference: "docker.io/library/busybox:latest", digest: MF, id: MF, endpoint: "e", blobs: [] }];
    await runPull(ctx, "busybox", { allTags: false, quiet: false });
    expect(h.stdout.text.split("\n")[0]).toBe("Using default tag: latest");
    await runPull(ctx, "busybox", { allTags: true, quiet: true });
    expect(h.fake.pulls[1]).toEqual({ reference: "busybox", allTags: true });
  });

  it("push prints the repository, the layers and the tag's digest and size", async () => {
    h.fake.transferEvents = [
      { kind: "blob", digest: MF, mediaType: "m", role: "layer", status: "done", done: 1, total: 1 },
      { kind: "pushed", reference: "localhost:5000/app:1", digest: MF, mediaType: "m", size: 527, blobs: [{ digest: MF, outcome: "uploaded" }] },
    ];
    expect(await runPush(ctx, "localhost:5000/app:1", { quiet: false })).toBe(0);
    expect(h.stdout.text).toBe(`The push refers to repository [localhost:5000/app]\nffffffffffff: Pushed\n1: digest: ${MF} size: 527\n`);
  });

  it("login sends the password to the daemon only, prints Login Succeeded, defaults to Docker Hub; logout says what it removed", async () => {
    const withStdin = { ...ctx, stdin: Readable.from([Buffer.from("s3cret-pw\n")]) };
    expect(await runLogin(withStdin, "localhost:5000", { username: "me", passwordStdin: true })).toBe(0);
    expect(await runLogin({ ...ctx, stdin: Readable.from([Buffer.from("pw2")]) }, undefined, { username: "me", passwordStdin: true })).toBe(0);
    expect(h.fake.logins).toEqual([
      { registry: "localhost:5000", username: "me", password: "s3cret-pw" },
      { registry: "https://index.docker.io/v1/", username: "me", password: "pw2" },
    ]);
    expect(h.stdout.text).toBe("Login Succeeded\nLogin Succeeded\n");
    expect(h.stderr.text).toBe("");
    expect(await runLogout(ctx, undefined)).toBe(0);
    expect(h.stdout.text).toMatch(/Removing login credentials for docker\.io\n$/);
    expect(h.fake.logouts).toEqual([{ registry: "https://index.docker.io/v1/" }]);
  });

  it("login's password: -p warns, --password-stdin needs -u, none at all is a clear error", async () => {
    const io = { stdin: Readable.from([]), stderr: h.stderr };
    expect(await loginCredentials({ username: "me", password: "pw", passwordStdin: false }, io)).toEqual({ username: "me", password: "pw" });
    expect(h.stderr.text).toBe("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    await expect(loginCredentials({ passwordStdin: true }, io)).rejects.toThrow(new UsageError("login: --password-stdin needs --username (-u)"));
    await expect(loginCredentials({ username: "me", password: "x", passwordStdin: true }, io)).rejects.toThrow(UsageError);
    await expect(loginCredentials({ username: "me", passwordStdin: false }, io)).rejects.toThrow(new UsageError("login: no password given: pipe it to --password-stdin (or give -p PASSWORD)"));
  });
});

/**
 * Dockerfile builds for real (issue 10): berth's builder on a real image store, overlay
 * snapshots and runc — multi-stage builds, every kind of step, the cache (hits, misses and
 * their reasons, the same image from an unchanged rebuild), located errors, context escapes
 * refused, and containers of the built images running.
 */
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { buildIntermediates } from "../../runtime/build/executor/cache.js";
import { buildTestEnv, type BuildTestEnv } from "../helpers/build-env.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

describe.skipIf(lacking)("Dockerfile builds", () => {
  let env: BuildTestEnv;
  let rt: Runtime;
  let base: string;
  const context = (name: string, files: Record<string, string>) => env.context(name, files);
  const build = (req: Parameters<BuildTestEnv["build"]>[0]) => env.build(req);
  const runImage = (name: string, image: string, extra: Partial<ContainerCreateSpec> = {}) => env.runImage(name, image, extra);

  beforeAll(async () => {
    env = await buildTestEnv("berth-build");
    rt = env.rt;
    base = env.base;
  });

  afterAll(async () => {
    await env.close();
  });

  const dockerfile = [
    "ARG BASE=busybox",
    "FROM ${BASE} AS builder",
    "ARG GREETING=hello",
    "WORKDIR /work",
    "RUN echo \"$GREETING from the build\" > out.txt && echo streamed-line",
    "",
    "FROM busybox",
    "LABEL org.example.name=app version=$V",
    "ENV APP_HOME=/app MODE=prod",
    "WORKDIR $APP_HOME",
    "COPY --from=builder /work/out.txt ./",
    "COPY app.sh data/ ./",
    "RUN chmod 755 app.sh && echo run-in-image > made.txt",
    "USER 1000:1000",
    "EXPOSE 8080/tcp",
    "HEALTHCHECK --interval=5s --retries=2 CMD test -f /app/out.txt",
    "STOPSIGNAL SIGINT",
    "ONBUILD RUN echo child",
    'CMD ["sh", "app.sh"]',
  ].join("\n");

  it("builds a multi-stage Dockerfile whose image runs with its config; an unchanged rebuild is all cached and the same image", async () => {
    const dir = context("app", { Dockerfile: dockerfile, "app.sh": 'echo "$(cat out.txt) in $MODE as $(id -u)"; cat data.txt made.txt\n', "data/data.txt": "data file\n" });
    const first = await build({ context: dir, tags: ["localhost/app:1"] });
    expect(first.output).toContain("streamed-line");
    expect(first.cached).toBe(0);
    const cfg = first.image.config;
    expect(cfg).toMatchObject({ WorkingDir: "/app", User: "1000:1000", Cmd: ["sh", "app.sh"], StopSignal: "SIGINT", OnBuild: ["RUN echo child"], Labels: { "org.example.name": "app", version: "" } });
    expect(cfg.Env).toEqual(expect.arrayContaining(["APP_HOME=/app", "MODE=prod"]));
    expect(Object.keys(cfg.ExposedPorts!)).toEqual(["8080/tcp"]);
    expect(cfg.Healthcheck).toEqual({ Test: ["CMD-SHELL", "test -f /app/out.txt"], Interval: 5e9, Retries: 2 });
    // only the final stage's layers: busybox's plus two COPY layers and the RUN
    const busybox = await rt.images.get("busybox");
    expect(first.image.diffIds.slice(0, busybox.diffIds.length)).toEqual(busybox.diffIds);
    expect(first.image.diffIds.length).toBe(busybox.diffIds.length + 3);
    expect(first.image.references).toEqual(["localhost/app:1"]);

    const ran = await runImage("app-run", "localhost/app:1");
    expect(ran).toEqual({ code: 0, out: "hello from the build in prod as 1000\ndata file\nrun-in-image\n" });

    const t0 = Date.now();
    const again = await build({ context: dir, tags: ["localhost/app:1"] });
    const seconds = (Date.now() - t0) / 1000;
    expect(again.misses).toEqual([]);
    expect(again.cached).toBe(4); // RUN, COPY --from, COPY, RUN
    expect(again.image.digest).toBe(first.image.digest);
    // image ls hides the steps' images on the way, not what a build gave
    const hidden = await buildIntermediates(env.root);
    expect(hidden.size).toBeGreaterThanOrEqual(2);
    expect(hidden.has(first.image.digest)).toBe(false);
    expect((await rt.images.list()).filter((i) => hidden.has(i.digest)).every((i) => i.references.length === 0)).toBe(true);
    expect(seconds).toBeLessThan(5); // generous here; bench/ measures it
  });

  it("misses the cache for exactly what changed, and says why", async () => {
    const dir = context("app2", { Dockerfile: dockerfile, "app.sh": "echo one\n", "data/data.txt": "d\n" });
    await build({ context: dir });
    const argChanged = await build({ context: dir, buildArgs: { GREETING: "bonjour" } });
    expect(argChanged.misses[0]).toBe("build args or ENV changed: GREETING");
    writeFileSync(path.join(dir, "app.sh"), "echo two\n");
    const fileChanged = await build({ context: dir, buildArgs: { GREETING: "bonjour" } });
    expect(fileChanged.cached).toBe(2); // the builder's RUN and COPY --from
    expect(fileChanged.misses[0]).toBe("the source files changed");
    const noCache = await build({ context: dir, buildArgs: { GREETING: "bonjour" }, noCache: true });
    expect(noCache.cached).toBe(0);
    expect(noCache.misses.every((m) => m === "--no-cache")).toBe(true);
  });

  it("runs the base image's ONBUILD triggers in a child build, and the child does not inherit them", async () => {
    await build({ context: context("parent", { Dockerfile: "FROM busybox\nONBUILD RUN echo triggered > /trigger.txt\n" }), tags: ["localhost/parent:1"] });
    const child = await build({ context: context("child", { Dockerfile: "FROM localhost/parent:1\nCMD cat /trigger.txt\n" }), tags: ["localhost/child:1"] });
    expect(child.image.config.OnBuild ?? []).toEqual([]);
    expect(await runImage("child-run", "localhost/child:1")).toEqual({ code: 0, out: "triggered\n" });
  });

  it("builds FROM scratch from a context holding a static busybox, and ADD extracts a local tar", async () => {
    const dir = context("scratch", { Dockerfile: "FROM scratch\nCOPY busybox /bin/busybox\nADD files.tar /srv/\nCMD [\"/bin/busybox\", \"cat\", \"/srv/inner/hello.txt\"]\n" });
    writeFileSync(path.join(dir, "busybox"), readFileSync("/bin/busybox"), { mode: 0o755 });
    const { tarBuffer } = await import("../helpers/image-fixtures.js");
    writeFileSync(path.join(dir, "files.tar"), await tarBuffer([{ name: "inner/", type: "directory" }, { name: "inner/hello.txt", data: "from the tar\n" }]));
    const r = await build({ context: dir, tags: ["localhost/scratch:1"] });
    expect(r.image.diffIds).toHaveLength(2);
    expect(await runImage("scratch-run", "localhost/scratch:1")).toEqual({ code: 0, out: "from the tar\n" });
  });

  it("a failing RUN fails the build at its place with Docker's words, and nothing is tagged", async () => {
    const dir = context("fails", { Dockerfile: "FROM busybox\nRUN echo before\nRUN exit 3\n" });
    await expect(build({ context: dir, tags: ["localhost/fails:1"] })).rejects.toThrow(/^Dockerfile:3:1: RUN exit 3: The command '\/bin\/sh -c exit 3' returned a non-zero code: 3$/);
    await expect(rt.images.get("localhost/fails:1")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await rt.containers.list()).toEqual([]);
  });

  it("refuses sources outside the context: ../, absolute paths and symlinks leading out, naming the path", async () => {
    const outside = path.join(base, "secret.txt");
    writeFileSync(outside, "secret\n");
    const dir = context("escape", { Dockerfile: "FROM busybox\nCOPY ../secret.txt /x\n", "ok.txt": "ok\n" });
    await expect(build({ context: dir })).rejects.toThrow(/Dockerfile:2:1: .*\.\.\/secret\.txt/);
    writeFileSync(path.join(dir, "Dockerfile"), "FROM busybox\nCOPY /etc/passwd /x\n");
    await expect(build({ context: dir })).rejects.toThrow(/Dockerfile:2:1: .*\/etc\/passwd/);
    symlinkSync(outside, path.join(dir, "link.txt"));
    writeFileSync(path.join(dir, "Dockerfile"), "FROM busybox\nCOPY link.txt /x\n");
    await expect(build({ context: dir })).rejects.toThrow(/Dockerfile:2:1: .*link\.txt/);
  });

  it("RUN steps join the build network by default: an address, a default route and the embedded resolver", async () => {
    const dir = context("net", { Dockerfile: "FROM busybox\nRUN grep -c . /proc/net/route && cat /etc/resolv.conf\n" });
    const r = await build({ context: dir, network: "bridge" });
    expect(r.output.some((l) => /^nameserver \d+\.\d+\.\d+\.\d+$/.test(l))).toBe(true);
    expect(Number(r.output[0])).toBeGreaterThanOrEqual(2); // header + default route (+ the subnet)
  });
});

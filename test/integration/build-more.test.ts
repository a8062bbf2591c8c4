/**
 * More of the builder for real (issue 10): ENTRYPOINT with CMD, SHELL, VOLUME, MAINTAINER,
 * RUN here-documents, `--target` (only the target's stages run), `.dockerignore`, COPY
 * `--chown`/`--chmod` and globs, and a built image that `berth image save` writes and a real
 * Docker engine (a private dockerd) loads and runs.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { startPrivateDockerd, type PrivateDockerd } from "../helpers/dockerd.js";
import { buildTestEnv, type BuildTestEnv } from "../helpers/build-env.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "docker");

describe.skipIf(lacking)("Dockerfile builds: the rest of the instructions, and Docker interop", () => {
  let env: BuildTestEnv;
  let rt: Runtime;
  let base: string;
  let dockerd: PrivateDockerd | undefined;
  const context = (name: string, files: Record<string, string>) => env.context(name, files);
  const build = (req: Parameters<BuildTestEnv["build"]>[0]) => env.build(req);
  const runImage = (name: string, image: string, extra: Partial<ContainerCreateSpec> = {}) => env.runImage(name, image, extra);

  beforeAll(async () => {
    env = await buildTestEnv("berth-build2");
    rt = env.rt;
    base = env.base;
  });

  afterAll(async () => {
    await dockerd?.stop();
    await env.close();
  });

  it("ENTRYPOINT with CMD, SHELL, VOLUME, MAINTAINER, here-documents, COPY --chown/--chmod with globs, and .dockerignore", async () => {
    const dir = context("rest", {
      Dockerfile: [
        "FROM busybox",
        "MAINTAINER someone@example.com",
        'SHELL ["/bin/sh", "-ec"]',
        "RUN <<EOF",
        "echo from-heredoc > /heredoc.txt",
        "echo second line >> /heredoc.txt",
        "EOF",
        "COPY --chown=1000:1000 --chmod=0640 conf/*.conf /etc/app/",
        "COPY . /ctx/",
        "VOLUME /data",
        'ENTRYPOINT ["/bin/sh", "-c", "echo \\"$0 $*\\"; cat /heredoc.txt; ls -A /ctx | sort; stat -c \'%u:%g %a\' /etc/app/a.conf; ls /etc/app"]',
        'CMD ["first", "second"]',
      ].join("\n"),
      "conf/a.conf": "a\n",
      "conf/b.conf": "b\n",
      "conf/skip.txt": "not copied by the glob\n",
      "secret.key": "never sent\n",
      "keep.txt": "kept\n",
      ".dockerignore": "secret.key\n",
    });
    const { image, output } = await build({ context: dir, tags: ["localhost/rest:1"] });
    expect(output).toEqual([]); // the RUN printed nothing: its output went to the file
    expect(image.config).toMatchObject({ Entrypoint: ["/bin/sh", "-c", expect.stringContaining("echo")], Cmd: ["first", "second"], Shell: ["/bin/sh", "-ec"], Volumes: { "/data": {} } });
    const history = await rt.images.history!("localhost/rest:1");
    expect(history.some((h) => h.createdBy === "MAINTAINER someone@example.com")).toBe(true);
    const ran = await runImage("rest-run", "localhost/rest:1");
    expect(ran.code).toBe(0);
    // busybox stat prints modes without the leading 0
    expect(ran.out).toBe("first second\nfrom-heredoc\nsecond line\n.dockerignore\nDockerfile\nconf\nkeep.txt\n1000:1000 640\na.conf\nb.conf\n");
  });

  it("--target builds only the stages the target needs", async () => {
    const dir = context("target", { Dockerfile: "FROM busybox AS a\nRUN echo in-a\nFROM busybox AS b\nRUN echo in-b\nFROM a AS c\nRUN echo in-c\n" });
    const r = await build({ context: dir, target: "c" });
    expect(r.output).toEqual(["in-a", "in-c"]);
    await expect(build({ context: dir, target: "nope" })).rejects.toThrow(/nope/);
  });

  it("FROM --platform is accepted for the host's platform and refused for another, at its place", async () => {
    const host = process.arch === "x64" ? "amd64" : process.arch;
    const other = host === "arm64" ? "amd64" : "arm64";
    const ok = context("platform-ok", { Dockerfile: `FROM --platform=linux/${host} busybox\nARG API_TOKEN\nRUN echo on-host\n` });
    const built = await build({ context: ok });
    expect(built.output).toEqual(["on-host"]);
    // a secret-looking ARG is warned about (its value would stay in the history)
    expect(built.events).toContainEqual({ type: "warning", message: "Dockerfile:2:1: ARG API_TOKEN looks like a secret: its value stays readable in the image's history" });
    const bad = context("platform-bad", { Dockerfile: `FROM busybox\nFROM --platform=linux/${other} busybox\n` });
    await expect(build({ context: bad })).rejects.toThrow(new RegExp(`^Dockerfile:2:1: FROM --platform=linux/${other}: berth builds for this host's platform only`));
  });

  it("a built image saved with image save loads into Docker and runs there", async () => {
    dockerd = await startPrivateDockerd();
    const dir = context("interop", { Dockerfile: "FROM busybox AS b\nRUN echo built-in-berth > /msg\nFROM busybox\nCOPY --from=b /msg /msg\nENV GREETING=hi\nCMD [\"sh\", \"-c\", \"cat /msg; echo $GREETING\"]\n" });
    const ref = "docker.io/berth-interop/built:1";
    const { image } = await build({ context: dir, tags: [ref] });
    const archive = path.join(base, "built.tar");
    await rt.images.save([ref], archive);
    expect(await dockerd.mustDocker(["load", "-i", archive])).toContain("Loaded image: berth-interop/built:1");
    expect((await dockerd.mustDocker(["image", "inspect", "--format", "{{.Id}}", ref])).trim()).toBe(image.configDigest);
    expect(await dockerd.mustDocker(["run", "--rm", "--network", "none", ref], { timeoutMs: 60_000 })).toBe("built-in-berth\nhi\n");
  });
});

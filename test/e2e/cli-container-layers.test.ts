/**
 * `berth diff CONTAINER`, `berth commit`, `berth image history` and `berth export` end to
 * end, as Docker has them: the built CLI against a real `berth daemon` child process. A
 * busybox container changes files; diff lists the changes; commit (with --change, -m, -a)
 * makes an image that a new container runs with the change and the new config; history
 * shows the comment and the layers; export's tar of a stopped container is taken back by
 * `berth image import` and runs. The tests run in order and build on each other.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../helpers/cli.js";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

/** What the box changes: /etc/passwd (C), /home/app (D), /www/new/f (A, under a new directory), then /greeting (A) last. */
const BOX_SCRIPT = "echo 'guest:x:2000:2000::/:/bin/sh' >> /etc/passwd && rmdir /home/app && mkdir /www/new && echo f > /www/new/f && echo hello > /greeting; exec sleep 3600";
const BOX_DIFF = ["C /etc", "C /etc/passwd", "A /greeting", "C /home", "D /home/app", "C /www", "A /www/new", "A /www/new/f"];

describe.skipIf(lacking)("berth diff, commit, image history and export against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let committedId: string;
  const ok = (r: RunResult) => expect(r, `stderr: ${r.stderr}`).toMatchObject({ code: 0, stderr: "" });
  const container = (name: string, image: string, extra = "") =>
    `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: ${name}}\nspec:\n  image: ${image}\n  networkMode: none\n  stopGracePeriod: 1s\n${extra}`;
  const apply = async (file: string, text: string, stack: string) => {
    const f = path.join(env.base, file);
    writeFileSync(f, text);
    const r = await cli(["apply", "-f", f, "--stack", stack, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    env = daemonEnv();
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    await apply("box.yaml", env.imageManifest + container("box", "localhost/busybox:latest", `  command: [sh, -c, ${JSON.stringify(BOX_SCRIPT)}]\n`), "box");
  });

  afterAll(() => stopAndCheckClean(daemon, env));

  it("berth diff box: docker diff's A/C/D lines, sorted, without the runtime's mount points", async () => {
    const r = await untilCli("the box's changes", () => cli(["diff", "box"]), (x) => x.code === 0 && x.stdout.includes("A /greeting"));
    expect(r).toEqual({ code: 0, stdout: BOX_DIFF.map((l) => `${l}\n`).join(""), stderr: "" });
    expect(await cli(["diff", "nope"])).toEqual({ code: 3, stdout: "", stderr: "berth: diff container nope: not found\n" });
  });

  it("berth commit with --change, -m and -a prints the new image's ID; a bad --change is named, with why", async () => {
    const bad = await cli(["commit", "box", "localhost/committed:v1", "-c", "RUN rm -rf /"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'berth: commit container box: change "RUN rm -rf /": RUN is not a valid change command (expected CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)\n',
    );
    const r = await cli([
      "commit",
      "-c",
      'CMD ["sh", "-c", "echo mode=$MODE; cat /greeting; test -d /home/app || echo no-app; exec sleep 3600"]',
      "-c",
      "ENV MODE=committed",
      "-m",
      "added a greeting",
      "-a",
      "Tester <t@example.com>",
      "box",
      "localhost/committed:v1",
    ]);
    ok(r);
    expect(r.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    committedId = r.stdout.trim();
    const [img] = JSON.parse((await cli(["image", "inspect", "localhost/committed:v1"])).stdout);
    expect(img.configDigest).toBe(committedId);
    expect(img.layers).toHaveLength(2);
    expect(img.config).toMatchObject({ Cmd: ["sh", "-c", "echo mode=$MODE; cat /greeting; test -d /home/app || echo no-app; exec sleep 3600"] });
    expect(img.config.Env).toContain("MODE=committed");
    expect((await cli(["commit", "nope"])).stderr).toBe("berth: commit container nope: not found\n");
  });

  it("a container of the committed image has the changes and runs the new CMD with the new ENV", async () => {
    await apply("again.yaml", container("again", "localhost/committed:v1"), "again");
    const logs = await untilCli("the new container's output", () => cli(["logs", "again"]), (x) => x.stdout.split("\n").length >= 4);
    expect(logs.stdout).toBe("mode=committed\nhello\nno-app\n");
    const diff = await cli(["diff", "again"]);
    expect(diff).toEqual({ code: 0, stdout: "", stderr: "" }); // nothing changed on top of the committed layer
  });

  it("berth image history: the commit's entry on top with its comment and ID, the imported layer below", async () => {
    const table = await cli(["image", "history", "localhost/committed:v1"]);
    ok(table);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(lines).toHaveLength(3);
    // CREATED BY: the container's command, cut to 45 characters with "…"
    const createdBy = `${`sh -c ${BOX_SCRIPT}`.slice(0, 44)}…`.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    expect(lines[1]).toMatch(new RegExp(`^${committedId.slice(7, 19)}\\s+(Less than a second|\\d+ seconds?|About a minute) ago\\s+${createdBy}\\s+[\\d.]+kB\\s+added a greeting$`));
    expect(lines[2]).toMatch(/^<missing>\s+.+ ago\s+berth import\s+[\d.]+MB\s+imported from a rootfs tarball$/);
    const rows = (await cli(["image", "history", "--no-trunc", "--format", "json", "localhost/committed:v1"])).stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.ID, x.CreatedBy, x.Comment])).toEqual([
      [committedId, `sh -c ${BOX_SCRIPT}`, "added a greeting"],
      ["<missing>", "berth import", "imported from a rootfs tarball"],
    ]);
    expect(await cli(["image", "history", "-q", "localhost/committed:v1"])).toEqual({ code: 0, stdout: `${committedId.slice(7, 19)}\n<missing>\n`, stderr: "" });
  });

  it("berth export -o of the stopped box gives a tar of its whole filesystem that berth image import takes back, and it runs", async () => {
    ok(await cli(["stop", "box"]));
    const tar = path.join(env.base, "box.tar");
    ok(await cli(["export", "box", "-o", tar]));
    const names = execFileSync("tar", ["-tf", tar], { encoding: "utf8" }).split("\n");
    expect(names).toEqual(expect.arrayContaining(["bin/busybox", "bin/sh", "etc/passwd", "greeting", "www/new/", "www/new/f", "home/"]));
    expect(names.filter((n) => n.startsWith("home/app") || n.includes(".wh."))).toEqual([]);
    expect(execFileSync("tar", ["-xOf", tar, "etc/passwd"], { encoding: "utf8" })).toMatch(/\nguest:x:2000:2000::\/:\/bin\/sh\n$/);

    const imported = await cli(["image", "import", tar, "localhost/flat:1", "-c", 'CMD ["sh", "-c", "cat /greeting /www/new/f; exec sleep 3600"]']);
    ok(imported);
    const [flat] = JSON.parse((await cli(["image", "inspect", "localhost/flat:1"])).stdout);
    expect(flat.layers).toHaveLength(1);
    await apply("flat.yaml", container("flat", "localhost/flat:1"), "flat");
    await untilCli("the flat container's output", () => cli(["logs", "flat"]), (x) => x.stdout === "hello\nf\n");
    expect((await cli(["export", "nope", "-o", tar])).stderr).toBe("berth: export container nope: not found\n");
  });
});

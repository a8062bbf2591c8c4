/**
 * `berth cp` end to end: the built CLI against a real `berth daemon` and real runc. A busybox
 * container plants symlink tricks (an absolute link to /etc, a `..`-laden relative one, a
 * link to a host path) and runs a loop that flips a directory and a symlink to a host
 * canary while cp runs many times; a volume and a tmpfs mount are copied to and from as the
 * container sees them. The host canary must never be read or written. Tests run in order.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../helpers/cli.js";
import { cliOf, startCliDaemon, stopAndCheckClean, untilCli, type CliProcess } from "../helpers/cli-daemon.js";
import { daemonEnv, type DaemonEnv } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox", "cgroups");

describe.skipIf(lacking)("berth cp against a real daemon", () => {
  let env: DaemonEnv;
  let daemon: CliProcess | undefined;
  let cli: ReturnType<typeof cliOf>;
  let canaryDir: string;
  const ok = (r: RunResult) => expect(r.code, `stderr: ${r.stderr}; daemon: ${daemon?.stderr().slice(-3000)}`).toBe(0);
  const sh = async (script: string) => {
    const r = await cli(["exec", "box", "--", "sh", "-c", script]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    env = daemonEnv();
    canaryDir = path.join(env.base, "canary");
    mkdirSync(canaryDir);
    writeFileSync(path.join(canaryDir, "secret"), "HOST-SECRET\n");
    const setup = [
      "echo 'cpmarker:x:4242:4242::/:/bin/sh' >> /etc/passwd",
      "ln -s /etc /link",
      "mkdir -p /a/b/c && ln -s ../../../../../../etc /a/b/c/rel",
      `ln -s ${canaryDir}/secret /hostlink`,
      `ln -s ${canaryDir} /hostdir`,
      "mkdir -p /race/d && echo inside > /race/d/secret",
      // flips /race/d between the directory and a symlink to the host canary's directory
      `while true; do mv /race/d /race/real; ln -s ${canaryDir} /race/d; rm /race/d; mv /race/real /race/d; done & exec sleep 3600`,
    ].join(" && ");
    const manifest =
      env.imageManifest +
      "---\napiVersion: berth/v1\nkind: Volume\nmetadata: {name: cpdata}\nspec: {}\n" +
      `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: box}\nspec:\n  image: localhost/busybox:latest\n  networkMode: none\n  stopGracePeriod: 1s\n` +
      `  command: [sh, -c, ${JSON.stringify(setup)}]\n  mounts:\n    - cpdata:/data\n    - {type: tmpfs, target: /scratch}\n`;
    daemon = await startCliDaemon(env);
    cli = cliOf(env);
    const f = path.join(env.base, "box.yaml");
    writeFileSync(f, manifest);
    const r = await cli(["apply", "-f", f, "--stack", "cp", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    await untilCli("the box's setup", () => cli(["exec", "box", "--", "test", "-e", "/race/d"]), (x) => x.code === 0);
  }, 120_000);

  afterAll(async () => {
    if (canaryDir) {
      // the canary was never written: only what was put there
      expect(readdirSync(canaryDir)).toEqual(["secret"]);
      expect(readFileSync(path.join(canaryDir, "secret"), "utf8")).toBe("HOST-SECRET\n");
    }
    await stopAndCheckClean(daemon, env);
  });

  it("round-trips a tree with modes; owned by the container's root, with -a by the source's uid/gid", async () => {
    const tree = path.join(env.base, "tree");
    mkdirSync(path.join(tree, "sub"), { recursive: true });
    writeFileSync(path.join(tree, "plain"), "plain\n");
    writeFileSync(path.join(tree, "run.sh"), "#!/bin/sh\necho run\n");
    writeFileSync(path.join(tree, "sub", "secret"), "s\n");
    symlinkSync("sub/secret", path.join(tree, "ln"));
    execFileSync("chown", ["-hR", "1234:5678", tree]); // before chmod: chown clears setuid
    chmodSync(path.join(tree, "plain"), 0o640);
    chmodSync(path.join(tree, "run.sh"), 0o4755);
    chmodSync(path.join(tree, "sub"), 0o700);

    ok(await cli(["cp", tree, "box:/tmp/tree"]));
    expect(await sh("cd /tmp/tree && stat -c '%n %a %u:%g' plain run.sh sub sub/secret && readlink ln && cat plain")).toBe(
      "plain 640 0:0\nrun.sh 4755 0:0\nsub 700 0:0\nsub/secret 644 0:0\nsub/secret\nplain\n",
    );
    ok(await cli(["cp", "-a", tree, "box:/tmp/owned"]));
    expect(await sh("cd /tmp/owned && stat -c '%n %a %u:%g' plain run.sh sub sub/secret")).toBe("plain 640 1234:5678\nrun.sh 4755 1234:5678\nsub 700 1234:5678\nsub/secret 644 1234:5678\n");

    const back = path.join(env.base, "back");
    ok(await cli(["cp", "-a", "box:/tmp/owned", back]));
    for (const [rel, mode] of [["plain", 0o640], ["run.sh", 0o4755], ["sub", 0o700], ["sub/secret", 0o644]] as const) {
      const st = statSync(path.join(back, rel));
      expect([rel, st.mode & 0o7777, st.uid, st.gid]).toEqual([rel, mode, 1234, 5678]);
    }
    expect(readlinkSync(path.join(back, "ln"))).toBe("sub/secret");
    expect(readFileSync(path.join(back, "run.sh"), "utf8")).toBe("#!/bin/sh\necho run\n");
    // without -a, copied out the files are the invoking user's (root here)
    const mine = path.join(env.base, "mine");
    ok(await cli(["cp", "box:/tmp/owned", mine]));
    expect(statSync(path.join(mine, "plain")).uid).toBe(0);
  });

  it("streams a 30 MB file both ways byte for byte", async () => {
    const big = path.join(env.base, "big.bin");
    writeFileSync(big, randomBytes(30 << 20));
    const sum = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
    ok(await cli(["cp", big, "box:/tmp/big.bin"], { timeoutMs: 60_000 }));
    expect((await sh("sha256sum /tmp/big.bin")).split(" ")[0]).toBe(sum(big));
    const back = path.join(env.base, "big.back");
    const r = await cli(["cp", "box:/tmp/big.bin", back], { timeoutMs: 60_000 });
    ok(r);
    expect(r.stderr).toBe(`Successfully copied 31.5MB to ${back}\n`);
    expect(sum(back)).toBe(sum(big));
  });

  it("follows Docker's path rules: DIR/. copies contents, DIR into an existing dir nests, a file into an absent DIR/ fails, a dir onto a file fails", async () => {
    const out = path.join(env.base, "rules");
    mkdirSync(out);
    ok(await cli(["cp", "box:/tmp/tree/.", path.join(out, "contents")]));
    expect(readdirSync(path.join(out, "contents")).sort()).toEqual(["ln", "plain", "run.sh", "sub"]);
    ok(await cli(["cp", "box:/tmp/tree/sub", out]));
    expect(readFileSync(path.join(out, "sub", "secret"), "utf8")).toBe("s\n");
    ok(await cli(["cp", "box:/tmp/tree/plain", path.join(out, "renamed")]));
    expect(readFileSync(path.join(out, "renamed"), "utf8")).toBe("plain\n");
    const noDir = await cli(["cp", "box:/tmp/tree/plain", path.join(out, "nodir") + "/"]);
    expect(noDir.code).not.toBe(0);
    expect(noDir.stderr).toContain("the destination directory must exist");
    const dirOnFile = await cli(["cp", "box:/tmp/tree/sub", path.join(out, "renamed")]);
    expect(dirOnFile.stderr, daemon?.stderr().slice(-3000)).toContain("cannot copy a directory to a file");
    const fileAsDir = await cli(["cp", "box:/tmp/tree/plain/", out]);
    expect(fileAsDir.code).not.toBe(0);
    expect(fileAsDir.stderr).toContain("not a directory");
    // a tar on stdin, into a directory that must exist; a hostile entry is refused and nothing written
    const input = execFileSync("tar", ["-c", "-C", path.join(env.base, "tree"), "sub"]);
    ok(await cli(["cp", "-", "box:/tmp/"], { input: input as unknown as string }));
    expect(await sh("cat /tmp/sub/secret")).toBe("s\n");
    const notDir = await cli(["cp", "-", "box:/tmp/absent"], { input: input as unknown as string });
    expect(notDir.stderr).toContain("the destination must be a directory");
    const evil = execFileSync("tar", ["-c", "-P", "--transform", "s,^sub,../../../etc/berth-evil,", "-C", path.join(env.base, "tree"), "sub"]);
    const refused = await cli(["cp", "-", "box:/tmp"], { input: evil as unknown as string });
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('".." components are not allowed')]);
    expect(await sh("ls /etc/berth-evil 2>&1 || true")).toContain("No such file");
    // a tar on stdout, its entries named by the path's base
    const tar = await cli(["cp", "box:/tmp/tree/sub", "-"]);
    ok(tar);
    expect(tar.stdout).toContain("sub/secret");
  });

  it("a planted link to /etc, a ..-laden relative link and a link to a host path stay inside the container", async () => {
    const out = path.join(env.base, "tricks");
    mkdirSync(out);
    ok(await cli(["cp", "box:/link/passwd", path.join(out, "via-link")]));
    expect(readFileSync(path.join(out, "via-link"), "utf8")).toContain("cpmarker:x:4242");
    ok(await cli(["cp", "box:/a/b/c/rel/passwd", path.join(out, "via-rel")]));
    expect(readFileSync(path.join(out, "via-rel"), "utf8")).toContain("cpmarker:x:4242");
    // the link itself is copied, as a link; followed (-L) it names a path the container does not have
    ok(await cli(["cp", "box:/hostlink", path.join(out, "hostlink")]));
    expect(lstatSync(path.join(out, "hostlink")).isSymbolicLink()).toBe(true);
    const followed = await cli(["cp", "-L", "box:/hostlink", path.join(out, "followed")]);
    expect(followed.code).toBe(3);
    expect(existsSync(path.join(out, "followed"))).toBe(false);
    // -L of a link to a directory copies the container's directory under the link's name
    ok(await cli(["cp", "-L", "box:/link", out]));
    expect(readFileSync(path.join(out, "link", "passwd"), "utf8")).toContain("cpmarker:x:4242");
    ok(await cli(["cp", "box:/link/", path.join(out, "etc-copy")]));
    expect(readFileSync(path.join(out, "etc-copy", "passwd"), "utf8")).toContain("cpmarker:x:4242");
    const through = await cli(["cp", "box:/hostdir/secret", path.join(out, "through")]);
    expect(through.code).toBe(3);
    // written through the link: inside the container's /etc, not the host's
    const f = path.join(env.base, "berth-cp-probe");
    writeFileSync(f, "probe\n");
    ok(await cli(["cp", f, "box:/link/"]));
    expect(await sh("cat /etc/berth-cp-probe")).toBe("probe\n");
    expect(existsSync("/etc/berth-cp-probe")).toBe(false);
    const intoHost = await cli(["cp", f, "box:/hostdir/"]);
    expect(intoHost.code).not.toBe(0);
  });

  it("a directory flipped with a symlink to a host directory during many copies never reads or writes the host", async () => {
    const out = path.join(env.base, "race");
    mkdirSync(out);
    // The control: a naive host-side read through /proc/<pid>/root follows the container's
    // absolute link from the host's root, so the swap really does lead to the canary.
    const view = JSON.parse((await cli(["get", "container", "box", "-o", "json"])).stdout);
    const pid = view.status.pid as number;
    expect(pid).toBeGreaterThan(1);
    let leaked = 0;
    for (const end = Date.now() + 3000; Date.now() < end && leaked === 0; ) {
      try {
        if (readFileSync(`/proc/${pid}/root/race/d/secret`, "utf8") === "HOST-SECRET\n") leaked++;
      } catch {
        /* mid-swap */
      }
    }
    expect(leaked, "the naive read never met the swap: the test would prove nothing").toBeGreaterThan(0);
    const probe = path.join(env.base, "race-probe");
    writeFileSync(probe, "from-host-cli\n");
    let read = 0;
    for (let i = 0; i < 25; i++) {
      const dst = path.join(out, `r${i}`);
      const r = await cli(["cp", "box:/race/d/secret", dst]);
      if (r.code === 0) {
        read++;
        expect(readFileSync(dst, "utf8")).toBe("inside\n");
      }
      await cli(["cp", probe, "box:/race/d/"]);
      await cli(["cp", probe, "box:/race/d/written"]);
    }
    // /race/d is a directory only between two turns of the flipping loop, and a read that
    // sees it change is refused: on a loaded host all 25 may be. Reads go on (bounded) until
    // one succeeds — what it reads must still be the container's file.
    for (let i = 25; read === 0 && i < 200; i++) {
      const dst = path.join(out, `r${i}`);
      if ((await cli(["cp", "box:/race/d/secret", dst])).code === 0) {
        read++;
        expect(readFileSync(dst, "utf8")).toBe("inside\n");
      }
    }
    // walking the flipping tree: what changed under the walk is left out, the rest is copied, nothing followed
    for (let i = 0; i < 8; i++) {
      const dst = path.join(env.base, `race-tree-${i}`);
      ok(await cli(["cp", "box:/race", dst]));
      for (const name of readdirSync(dst)) {
        const p = path.join(dst, name);
        if (lstatSync(p).isSymbolicLink()) expect(readlinkSync(p)).toBe(canaryDir);
        else if (existsSync(path.join(p, "secret"))) expect(readFileSync(path.join(p, "secret"), "utf8")).toBe("inside\n");
      }
    }
    expect(readdirSync(canaryDir)).toEqual(["secret"]);
    expect(readFileSync(path.join(canaryDir, "secret"), "utf8")).toBe("HOST-SECRET\n");
    for (const name of readdirSync(out)) expect(readFileSync(path.join(out, name), "utf8")).toBe("inside\n");
    expect(read).toBeGreaterThan(0);
  }, 120_000);

  it("the whole running container: / as it sees it, /proc and /sys left empty, devices left out, host links kept as links", async () => {
    const dst = path.join(env.base, "whole");
    ok(await cli(["cp", "box:/", dst], { timeoutMs: 60_000 }));
    expect(readFileSync(path.join(dst, "etc", "passwd"), "utf8")).toContain("cpmarker:x:4242");
    expect(readdirSync(path.join(dst, "proc"))).toEqual([]);
    expect(readdirSync(path.join(dst, "sys"))).toEqual([]);
    expect(existsSync(path.join(dst, "dev", "null"))).toBe(false);
    expect(readlinkSync(path.join(dst, "hostdir"))).toBe(canaryDir);
    expect(existsSync(path.join(dst, "bin", "busybox"))).toBe(true);
  }, 90_000);

  it("a volume and a tmpfs mount are copied to and from as the container sees them", async () => {
    const f = path.join(env.base, "mounted");
    writeFileSync(f, "mounted\n");
    ok(await cli(["cp", f, "box:/data/"]));
    ok(await cli(["cp", f, "box:/scratch/in-tmpfs"]));
    expect(await sh("cat /data/mounted /scratch/in-tmpfs; grep -c ' /scratch tmpfs' /proc/mounts")).toBe("mounted\nmounted\n1\n");
    await sh("echo from-tmpfs > /scratch/made-inside");
    const out = path.join(env.base, "from-tmpfs");
    ok(await cli(["cp", "box:/scratch/made-inside", out]));
    expect(readFileSync(out, "utf8")).toBe("from-tmpfs\n");
    // the file is in the volume, not in the container's writable layer under the mount point
    const diff = await cli(["diff", "box"]);
    expect(diff.stdout).not.toContain("/data/mounted");
  });

  it("a stopped container: its files are copied from its layers; its volume mount is refused, not written under", async () => {
    ok(await cli(["stop", "box"]));
    const out = path.join(env.base, "stopped");
    ok(await cli(["cp", "box:/link/passwd", out]));
    expect(readFileSync(out, "utf8")).toContain("cpmarker:x:4242");
    const vol = await cli(["cp", out, "box:/data/"]);
    expect(vol.code).toBe(5);
    expect(vol.stderr).toContain("/data is a volume mount of the container");
    ok(await cli(["cp", out, "box:/tmp/after-stop"]));
    ok(await cli(["start", "box"]));
    await untilCli("the box restarted", () => cli(["exec", "box", "--", "cat", "/tmp/after-stop"]), (x) => x.code === 0);
  });
});

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { berth, REPO } from "../helpers/cli.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "busybox");

describe.skipIf(lacking)("berth image", () => {
  const base = mkdtempSync(path.join(tmpdir(), "berth-cli-image-"));
  const rootA = path.join(base, "a");
  const rootB = path.join(base, "b");
  const rootfs = path.join(base, "busybox.tar");
  const archive = path.join(base, "saved.tar");
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("imports a rootfs tarball made by scripts/busybox-rootfs.sh, with --change", async () => {
    execFileSync(path.join(REPO, "scripts/busybox-rootfs.sh"), [rootfs]);
    const r = await berth(["--root", rootA, "image", "import", rootfs, "localhost/busybox:latest", "-c", 'CMD ["sh"]', "-c", "ENV MODE=test"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    const ls = await berth(["--root", rootA, "image", "ls"]);
    expect(ls.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nlocalhost\/busybox\s+latest\s+[a-f0-9]{12}\s+.+ago\s+[\d.]+MiB\n$/);
    const inspect = JSON.parse((await berth(["--root", rootA, "image", "inspect", "localhost/busybox"])).stdout);
    expect(inspect[0].config).toMatchObject({ Cmd: ["sh"], Env: ["MODE=test"] });
    expect(inspect[0].configDigest).toBe(r.stdout.trim());
  });

  it("saves, and loads the archive into another root with the same image", async () => {
    expect((await berth(["--root", rootA, "image", "save", "-o", archive, "localhost/busybox:latest"])).code).toBe(0);
    const load = await berth(["--root", rootB, "image", "load", "-i", archive]);
    expect(load).toMatchObject({ code: 0, stdout: "Loaded image: localhost/busybox:latest\n" });
    const a = JSON.parse((await berth(["--root", rootA, "image", "inspect", "localhost/busybox"])).stdout)[0];
    const b = JSON.parse((await berth(["--root", rootB, "image", "inspect", "localhost/busybox"])).stdout)[0];
    expect(b.configDigest).toBe(a.configDigest);
    expect(b.diffIds).toEqual(a.diffIds);
  });

  it("loads from standard input too", async () => {
    const root = path.join(base, "c");
    const r = await berth(["--root", root, "image", "load"], { input: readFileSync(archive) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Loaded image: localhost/busybox:latest\n");
  });

  it("tags, removes references, then the image", async () => {
    expect((await berth(["--root", rootB, "image", "tag", "localhost/busybox", "localhost/tools:1"])).code).toBe(0);
    const first = await berth(["--root", rootB, "image", "rm", "localhost/tools:1"]);
    expect(first).toMatchObject({ code: 0, stdout: "Untagged: localhost/tools:1\n" });
    const last = await berth(["--root", rootB, "image", "rm", "localhost/busybox"]);
    expect(last.code).toBe(0);
    expect(last.stdout).toMatch(/^Untagged: localhost\/busybox:latest\n(Deleted: sha256:[a-f0-9]{64}\n)+$/);
    expect((await berth(["--root", rootB, "image", "ls", "-q"])).stdout).toBe("");
  });

  it("reports user errors in one line with an exit code by kind, never a stack", async () => {
    const missing = await berth(["--root", rootB, "image", "rm", "nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^berth: .*not found\n$/);
    const bad = await berth(["--root", rootA, "image", "import", rootfs, "Bad Ref"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^berth: .*Bad Ref.*\n$/);
    const change = await berth(["--root", rootA, "image", "import", rootfs, "localhost/x:1", "-c", "RUN rm -rf /"]);
    expect(change.code).toBe(2);
    expect(change.stderr).toBe('berth: import image: --change "RUN rm -rf /": unsupported change instruction RUN: expected CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or STOPSIGNAL\n');
    const notAnArchive = await berth(["--root", rootA, "image", "load", "-i", path.join(REPO, "README.md")]);
    expect(notAnArchive.code).not.toBe(0);
    expect(notAnArchive.stderr).toMatch(/^berth: /);
    expect(notAnArchive.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("berth doctor", () => {
  it("reports every check, as text and as data", async () => {
    const json = await berth(["doctor", "-o", "json"]);
    const report = JSON.parse(json.stdout);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(["root", "kernel", "overlayfs", "cgroups", "runc", "conmon", "setfattr", "iptables", "ip_forward", "br_netfilter", "root lock", "quarantine", "init"]);
    expect(report.firewall.map((t: { table: string }) => t.table)).toEqual(["filter", "nat", "raw"]);
    expect(json.code).toBe(report.ok ? 0 : 1);
    if (process.env.CI === "true") expect(report.ok).toBe(true);
    const text = await berth(["doctor"]);
    expect(text.stdout).toMatch(/^(ok|warn|FAIL)\s+root\s/m);
    expect(text.stdout).toContain("Firewall rules berth owns");
  });
});

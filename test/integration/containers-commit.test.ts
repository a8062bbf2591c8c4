/**
 * `berth diff` and `berth commit` at the runtime (issue 10): a real container on a real
 * image store and overlay snapshots changes, adds, deletes and replaces files; its changes are
 * Docker's A/C/D lines without the runtime's mount points; its commit is a new image whose
 * layer carries files, a whiteout, an opaque directory, a symlink and a hardlink, which a new
 * container runs on.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { hostLacks } from "../helpers/host.js";
import { importBusybox } from "../helpers/image-fixtures.js";
import { cgroupDirsOf, removeCgroupTree, testSpec } from "../helpers/rootfs.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const spec = (name: string, image: string, extra: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec =>
  testSpec(name, { image, labels: { "berth.test": "containers-commit" }, stopGracePeriodMs: 1000, ...extra });

describe.skipIf(lacking)("containers: diff and commit", () => {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(path.join(tmpdir(), "berth-commit-"));
  let rt: Runtime;

  beforeAll(async () => {
    rt = await openRuntime({ root: path.join(base, "root"), runRoot: path.join(base, "run"), cgroupParent });
    await importBusybox(rt.images);
  });

  afterAll(async () => {
    for (const c of await rt.containers.list({ "berth.test": "containers-commit" })) await rt.containers.remove(c.id, { force: true });
    await rt.close();
    for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
    expect(await cgroupDirsOf(cgroupParent)).toEqual([]);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(base);
    rmSync(base, { recursive: true, force: true });
  });

  async function runToExit(name: string, image: string, script: string, extra: Partial<ContainerCreateSpec> = {}) {
    const c = await rt.containers.create(spec(name, image, { command: ["sh", "-c", script], ...extra }));
    await rt.containers.start(c.id);
    const deadline = Date.now() + 20_000;
    let state = await rt.containers.inspect(c.id);
    while (state.status === "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await rt.containers.inspect(c.id);
    }
    let out = "";
    for await (const l of rt.containers.logs(c.id)) out += `${l.text}\n`;
    return { id: c.id, state, out };
  }

  it("lists A/C/D like docker diff, without the runtime's mount points, and commits a layer a new container runs on", async () => {
    const script = [
      "echo changed >> /etc/passwd", // C /etc, C /etc/passwd
      "mkdir -p /srv/app && echo hi > /srv/app/hello && busybox ln -s hello /srv/app/link && busybox ln /srv/app/hello /srv/app/hard", // A /srv...
      "rm /bin/yes", // D /bin/yes (C /bin)
      "rm -rf /usr && mkdir /usr && echo fresh > /usr/only", // an opaque /usr
    ].join(" && ");
    const { id, state, out } = await runToExit("changer", "busybox", script, { mounts: [{ type: "tmpfs", target: "/scratch", readOnly: false }] });
    expect(state.exitCode, out).toBe(0);

    const changes = await rt.containers.changes!(id);
    const lines = changes.map((c) => `${c.kind} ${c.path}`);
    expect(lines).toContain("C /etc");
    expect(lines).toContain("C /etc/passwd");
    expect(lines).toContain("A /srv");
    expect(lines).toContain("A /srv/app/hello");
    expect(lines).toContain("A /srv/app/link");
    expect(lines).toContain("D /bin/yes");
    expect(lines).toContain("C /usr");
    expect(lines).toContain("A /usr/only");
    // the runtime's mount points are no change of the container's
    for (const p of ["/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/scratch"]) expect(lines.some((l) => l.endsWith(` ${p}`))).toBe(false);
    const paths = changes.map((c) => c.path);
    expect([...paths].sort()).toEqual(paths); // by path, as docker diff prints them

    const image = await rt.containers.commit!(id, { reference: "localhost/committed:v1", comment: "by the test", config: { Cmd: ["sh"], Env: ["PATH=/bin:/usr/bin"], Labels: { made: "commit" } } });
    expect(image.references).toEqual(["localhost/committed:v1"]);
    const parent = await rt.images.get("busybox");
    expect(image.diffIds.slice(0, parent.diffIds.length)).toEqual(parent.diffIds);
    expect(image.diffIds).toHaveLength(parent.diffIds.length + 1);
    expect(image.config.Labels).toEqual({ made: "commit" });

    const check = await runToExit(
      "checker",
      "localhost/committed:v1",
      "cat /srv/app/hello; busybox readlink /srv/app/link; busybox stat -c %h /srv/app/hard; test -e /bin/yes || echo no-yes; ls /usr; busybox tail -n1 /etc/passwd; test -e /scratch || echo no-scratch",
    );
    expect(check.state.exitCode, check.out).toBe(0);
    expect(check.out).toBe("hi\nhello\n2\nno-yes\nonly\nchanged\nno-scratch\n");
    // the new container has no changes of its own yet but its own mount points
    expect(await rt.containers.changes!(check.id)).toEqual([]);
  });

  it("a container with no changes commits an image with an empty history step and the same layers", async () => {
    const { id } = await runToExit("idle", "busybox", "true");
    expect(await rt.containers.changes!(id)).toEqual([]);
    const image = await rt.containers.commit!(id, {});
    expect(image.references).toEqual([]);
    expect(image.diffIds).toEqual((await rt.images.get("busybox")).diffIds);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { hostLacks } from "../helpers/host.js";
import { cgroupDirsOf, removeCgroupTree, testSpec } from "../helpers/rootfs.js";
import { randomBytes } from "node:crypto";
import { buildDockerSaveArchive, buildOciLayoutTar, busyboxRootfsEntries, tarBuffer } from "../helpers/image-fixtures.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

const spec = (name: string, image: string, extra: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec =>
  testSpec(name, { image, labels: { "berth.test": "runtime-images" }, stopGracePeriodMs: 1000, ...extra });

/**
 * Images from archives, run for real: `docker save` archives (both layouts) and an OCI
 * layout are loaded into the store, unpacked into overlay snapshots and run under runc.
 */
describe.skipIf(lacking)("loaded images run under runc", () => {
  const cgroupParent = `berth-test-${randomBytes(4).toString("hex")}`;
  const base = mkdtempSync(path.join(tmpdir(), "berth-rt-images-"));
  let rt: Runtime;

  beforeAll(async () => {
    rt = await openRuntime({ root: path.join(base, "root"), runRoot: path.join(base, "run"), cgroupParent });
  });

  afterAll(async () => {
    for (const c of await rt.containers.list({ "berth.test": "runtime-images" })) await rt.containers.remove(c.id, { force: true });
    await rt.close();
    for (const d of await cgroupDirsOf(cgroupParent)) await removeCgroupTree(d);
    expect(await cgroupDirsOf(cgroupParent)).toEqual([]);
    rmSync(base, { recursive: true, force: true });
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(base);
  });

  async function runToExit(name: string, image: string, extra: Partial<ContainerCreateSpec> = {}) {
    const c = await rt.containers.create(spec(name, image, extra));
    await rt.containers.start(c.id);
    const deadline = Date.now() + 20_000;
    let state = await rt.containers.inspect(c.id);
    while (state.status === "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await rt.containers.inspect(c.id);
    }
    let logs = "";
    for await (const l of rt.containers.logs(c.id)) logs += `${l.stream}: ${l.text}\n`;
    return { state, logs };
  }

  it.each(["legacy", "modern"] as const)("a %s docker save archive with two layers loads and runs, honouring its ENTRYPOINT and CMD", async (format) => {
    const baseLayer = await tarBuffer(busyboxRootfsEntries());
    const appLayer = await tarBuffer([
      { name: "app/", type: "directory" },
      { name: "app/hello.sh", data: 'echo "hello from $1 as $(id -u)"; cat /app/data.txt; exit 3\n', mode: 0o755 },
      { name: "app/data.txt", data: `layer two (${format})\n` },
    ]);
    const archive = await buildDockerSaveArchive(
      [{ layers: [baseLayer, appLayer], gzipLayers: true, repoTags: [`localhost/hello:${format}`], config: { Entrypoint: ["/bin/sh", "/app/hello.sh"], Cmd: ["archive"], User: "1000" } }],
      format,
    );
    const file = path.join(base, `${format}.tar`);
    writeFileSync(file, archive);
    const [img] = await rt.images.load(file);
    expect(img!.references).toEqual([`localhost/hello:${format}`]);
    expect(img!.diffIds).toHaveLength(2);

    const plain = await runToExit(`hello-${format}`, `localhost/hello:${format}`);
    expect(plain.state).toMatchObject({ status: "exited", exitCode: 3, oomKilled: false });
    expect(plain.logs).toBe(`stdout: hello from archive as 1000\nstdout: layer two (${format})\n`);

    // args replace CMD and keep the ENTRYPOINT; command replaces the ENTRYPOINT and drops CMD.
    const args = await runToExit(`args-${format}`, `localhost/hello:${format}`, { args: ["args"] });
    expect(args.logs).toContain("hello from args as 1000");
    const cmd = await runToExit(`cmd-${format}`, `localhost/hello:${format}`, { command: ["echo", "replaced"], user: "0" });
    expect(cmd.logs).toBe("stdout: replaced\n");
    expect(cmd.state.exitCode).toBe(0);
  });

  it("an OCI layout archive loads and runs", async () => {
    const layer = await tarBuffer(busyboxRootfsEntries());
    const file = path.join(base, "oci.tar");
    writeFileSync(file, await buildOciLayoutTar({ layers: [layer], config: { Cmd: ["sh", "-c", "echo oci ok"] } }, { refName: "localhost/oci:1" }));
    const loaded = await rt.images.load(file);
    expect(loaded).toHaveLength(1);
    const ref = loaded[0]!.references[0] ?? loaded[0]!.digest;
    const r = await runToExit("oci", ref);
    expect(r.state.exitCode).toBe(0);
    expect(r.logs).toBe("stdout: oci ok\n");
  });
});

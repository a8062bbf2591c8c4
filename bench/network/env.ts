/**
 * The network benchmark's fixture: one temp dir (run-roots on a private tmpfs, like /run),
 * a busybox rootfs with every applet plus `/sink` (counts what a connection sends and
 * answers with the byte count: the transfer's receiver), as a dir for runc bundles and a
 * tarball for the image imports; and the teardown of what berth left on the host.
 */
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Firewall } from "../../runtime/networks/firewall.js";
import { PREFIX } from "../../runtime/networks/firewall-rules.js";
import { removeBridge } from "../../runtime/networks/bridge.js";
import { removeNetns } from "../../runtime/containers/netns.js";
import { unmountAllUnder } from "../../test/helpers/dockerd.js";
import { cleanNetworksOfRoot } from "../../test/helpers/net-cleanup.js";
import { must } from "../runtime/helpers.js";
import type { BenchEnv } from "../runtime/types.js";
import { bridgesOf } from "./host-state.js";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface NetEnv extends BenchEnv {
  /** The busybox rootfs as an uncompressed tarball (berth, docker and podman import it). */
  rootfsTar: string;
  /** Roots this bench opened (runtime API, daemon): cleaned in teardown. */
  roots: string[];
  /** Container ids made under those roots (their namespaces must be gone at the end). */
  ids: Set<string>;
  /** [root, container, network] of every attachment made: their host veth names are known (driver.ts). */
  attachments: [string, string, string][];
}

export async function makeEnv(timeoutMs: number): Promise<NetEnv> {
  const base = await fs.mkdtemp("/tmp/btb-net-");
  const env: NetEnv = {
    base,
    run: path.join(base, "run"),
    rootfsDir: path.join(base, "rootfs"),
    rootfsTgz: path.join(base, "busybox.tar"),
    rootfsTar: path.join(base, "busybox.tar"),
    cgroupPrefix: `btb-net-${randomBytes(3).toString("hex")}`,
    timeoutMs,
    roots: [],
    ids: new Set(),
    attachments: [],
  };
  await fs.mkdir(env.run);
  await must("mount", ["-t", "tmpfs", "-o", "mode=0700,size=512m", "btb-net", env.run], timeoutMs);
  const plain = path.join(base, "busybox-plain.tar");
  await must(path.join(repo, "scripts/busybox-rootfs.sh"), [plain], timeoutMs);
  await fs.mkdir(env.rootfsDir);
  await must("tar", ["-C", env.rootfsDir, "-xf", plain], timeoutMs);
  // The transfer receiver: `nc -ll -p 80 -e /sink` runs it per connection, stdin/stdout the socket.
  await fs.writeFile(path.join(env.rootfsDir, "sink"), "#!/bin/sh\nexec wc -c\n", { mode: 0o755 });
  await must("tar", ["--numeric-owner", "-C", env.rootfsDir, "-cf", env.rootfsTar, "."], timeoutMs);
  await fs.rm(plain, { force: true });
  return env;
}

/**
 * Removes what is left of this bench's berth roots on the host (namespaces, bridges), then
 * every chain of the prefix (BTB) — only after the daemons and runtimes are closed.
 */
export async function teardownHost(env: NetEnv): Promise<void> {
  for (const root of env.roots) {
    const bridges = await bridgesOf(root);
    await cleanNetworksOfRoot(root).catch(() => {});
    for (const b of bridges) await removeBridge(b).catch(() => {});
  }
  for (const id of env.ids) {
    const n = `berth-${id.slice(0, 16)}`;
    if (existsSync(`/run/netns/${n}`)) await removeNetns(n).catch(() => {});
  }
  if (PREFIX !== "BERTH") await new Firewall().teardown({ all: true }).catch(() => {});
}

export async function removeEnv(env: NetEnv): Promise<void> {
  await unmountAllUnder(env.run);
  await unmountAllUnder(env.base);
  await fs.rm(env.base, { recursive: true, force: true }).catch(() => {});
}

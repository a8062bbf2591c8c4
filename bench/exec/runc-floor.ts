/**
 * The floor: a runc container of the suite's busybox rootfs (`runc run -d`, `sleep 3600`,
 * no terminal, under the suite's cgroup parent, its state on the suite's tmpfs) for `runc
 * exec ID true` — what berth's daemon and containerd's shim both run for an exec. `close()`
 * deletes it; idempotent, never throws.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { runProcess } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { PATH_ENV, type SuiteEnv } from "../gitops/suite-env.js";
import { must } from "../runtime/helpers.js";

export interface RuncFloor {
  runc: string;
  /** `runc --root … exec [flags] ID` followed by the command. */
  execArgs(argv: string[], flags?: string[]): string[];
  version: string;
  close(): Promise<void>;
}

export async function startRuncFloor(env: SuiteEnv): Promise<RuncFloor> {
  const runc = which("runc") ?? "/usr/sbin/runc";
  const root = path.join(env.run, "runc-floor");
  const bundle = path.join(env.base, "runc-floor-bundle");
  const id = "exec-floor";
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  await fs.mkdir(path.join(bundle, "rootfs"), { recursive: true });
  await must("tar", ["-xzf", env.rootfsTgz, "-C", path.join(bundle, "rootfs")], env.timeoutMs);
  await must(runc, ["spec", "--bundle", bundle], env.timeoutMs);
  const cfgFile = path.join(bundle, "config.json");
  const cfg = JSON.parse(await fs.readFile(cfgFile, "utf8")) as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { path: string; readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  cfg.process.terminal = false;
  cfg.process.args = ["sleep", "3600"];
  cfg.process.env = [PATH_ENV];
  cfg.root = { path: path.join(bundle, "rootfs"), readonly: false };
  cfg.linux.cgroupsPath = `/${env.cgroupParent}/${id}`;
  await fs.writeFile(cfgFile, JSON.stringify(cfg));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await runProcess(runc, ["--root", root, "delete", "--force", id], { timeoutMs: 30_000 });
  };
  try {
    const r = await runProcess(runc, ["--root", root, "run", "-d", "--bundle", bundle, id], { timeoutMs: env.timeoutMs, stdio: "ignore" });
    if (r.code !== 0) throw new Error(`runc run -d ${id} exited ${r.code}`);
    const version = (await must(runc, ["--version"], env.timeoutMs)).split("\n")[0]!.trim();
    return { runc, execArgs: (argv, flags = []) => ["--root", root, "exec", ...flags, id, ...argv], version, close };
  } catch (err) {
    await close();
    throw err;
  }
}

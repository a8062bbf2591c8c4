/** The floor: runc on a prepared bundle per container (shared busybox rootfs dir), `run -d` or `create` + `start`. */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { runProcess, removeCgroupTrees } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { eachLimited, must, PATH_ENV } from "./helpers.js";
import type { BenchEnv, Contender, Pids } from "./types.js";

export async function runcContender(env: BenchEnv, mode: "run" | "create+start"): Promise<Contender> {
  const runc = which("runc") ?? "/usr/sbin/runc";
  const tag = mode === "run" ? "run" : "cs";
  const runcRoot = path.join(env.run, `runc-${tag}`);
  const bundles = path.join(env.base, `bundles-${tag}`);
  const cgroupParent = `${env.cgroupPrefix}-runc-${tag}`;
  await fs.mkdir(runcRoot, { recursive: true, mode: 0o700 });
  await fs.mkdir(bundles, { recursive: true });
  // `runc spec`, then: no terminal, our args, writable root, our cgroup; namespaces as given (network included).
  const specDir = path.join(bundles, ".spec");
  await fs.mkdir(specDir);
  await must(runc, ["spec", "--bundle", specDir], env.timeoutMs);
  const template = JSON.parse(await fs.readFile(path.join(specDir, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { path: string; readonly: boolean };
    hostname?: string;
    linux: { cgroupsPath?: string; namespaces: { type: string }[] };
  };
  template.process.terminal = false;
  template.process.args = ["sleep", "3600"];
  template.process.env = [PATH_ENV];
  template.root = { path: env.rootfsDir, readonly: false };
  const version = (await must(runc, ["--version"], env.timeoutMs)).split("\n")[0]!.trim();
  const bundleOf = (id: string) => path.join(bundles, id);
  const runcArgs = (...a: string[]) => ["--root", runcRoot, ...a];
  return {
    name: mode === "run" ? "runc run -d (floor)" : "runc create + start",
    version,
    async prepare(ids) {
      for (const id of ids) {
        await fs.mkdir(bundleOf(id), { recursive: true });
        const cfg = structuredClone(template);
        cfg.linux.cgroupsPath = `/${cgroupParent}/${id}`;
        cfg.hostname = id.slice(0, 63);
        await fs.writeFile(path.join(bundleOf(id), "config.json"), JSON.stringify(cfg));
      }
    },
    async startOne(id) {
      const pidFile = path.join(bundleOf(id), "pid");
      if (mode === "run") {
        // Detached without a terminal: the container's stdio is runc's, so /dev/null.
        const r = await runProcess(runc, runcArgs("run", "-d", "--pid-file", pidFile, "--bundle", bundleOf(id), id), { timeoutMs: env.timeoutMs, stdio: "ignore" });
        if (r.code !== 0) throw new Error(`runc run ${id} exited ${r.code}`);
      } else {
        const c = await runProcess(runc, runcArgs("create", "--pid-file", pidFile, "--bundle", bundleOf(id), id), { timeoutMs: env.timeoutMs, stdio: "ignore" });
        if (c.code !== 0) throw new Error(`runc create ${id} exited ${c.code}`);
        await must(runc, runcArgs("start", id), env.timeoutMs);
      }
      return id;
    },
    async pids(ids) {
      const out: Pids[] = [];
      for (const id of ids) out.push({ container: Number((await fs.readFile(path.join(bundleOf(id), "pid"), "utf8")).trim()) });
      return out;
    },
    async removeAll(ids) {
      await eachLimited(ids, 4, (id) => must(runc, runcArgs("delete", "--force", id), env.timeoutMs));
    },
    async close() {
      const ids = (await runProcess(runc, runcArgs("list", "-q"), { timeoutMs: env.timeoutMs })).stdout.split("\n").filter(Boolean);
      for (const id of ids) await runProcess(runc, runcArgs("delete", "--force", id), { timeoutMs: env.timeoutMs });
      await removeCgroupTrees(cgroupParent);
    },
  };
}


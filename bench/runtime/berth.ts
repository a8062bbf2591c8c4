/** The berth contender: the embedded runtime's API in this process (create + start; force remove). */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { openRuntime, type Runtime } from "../../runtime/index.js";
import type { ContainerCreateSpec } from "../../runtime/types.js";
import { pidsMentioning, removeCgroupTrees, runProcess, unmountAllUnder } from "../../test/helpers/dockerd.js";
import { testSpec } from "../../test/helpers/rootfs.js";
import { parentOf } from "../proc.js";
import { eachLimited, IMAGE, must, PATH_ENV, withTimeout } from "./helpers.js";
import type { BenchEnv, Contender, Pids } from "./types.js";

function createSpec(name: string): ContainerCreateSpec {
  return testSpec(name, { image: IMAGE, labels: { "berth.bench": "runtime" }, command: ["sleep", "3600"] });
}

export async function berthContender(env: BenchEnv): Promise<Contender> {
  const cgroupParentExisted = existsSync("/sys/fs/cgroup/memory/berth") || existsSync("/sys/fs/cgroup/berth");
  const root = path.join(env.base, "berth-root");
  const runRoot = path.join(env.run, "berth");
  let rt: Runtime | undefined;
  const samples: Record<string, number>[] = [];
  const close = async () => {
    await rt?.close().catch(() => {});
    const runcRoot = path.join(runRoot, "runc");
    if (existsSync(runcRoot)) {
      const ids = (await runProcess("runc", ["--root", runcRoot, "list", "-q"], { timeoutMs: env.timeoutMs })).stdout.split("\n").filter(Boolean);
      for (const id of ids) {
        await runProcess("runc", ["--root", runcRoot, "delete", "--force", id], { timeoutMs: env.timeoutMs });
        await removeCgroupTrees(`berth/${id}`);
      }
    }
    // conmon exits once its container is gone; anything still running from our dirs is a leak.
    for (const p of [...(await pidsMentioning(runRoot)), ...(await pidsMentioning(root))]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await unmountAllUnder(root);
    // The production cgroup parent: removed only when this bench created it (and it is empty).
    if (!cgroupParentExisted) await removeCgroupTrees("berth");
  };
  try {
    rt = await openRuntime({ root, runRoot, owner: "berth bench", onPhases: (op, p) => samples.push(Object.fromEntries(Object.entries(p).map(([k, v]) => [`${op}: ${k}`, v]))) });
    await rt.images.importRootfs(env.rootfsTgz, IMAGE, { config: { Cmd: ["sh"], Env: [PATH_ENV] } });
  } catch (err) {
    await close();
    throw err;
  }
  const containers = rt.containers;
  return {
    name: "berth (runtime API)",
    version: (await must("conmon", ["--version"], env.timeoutMs)).split("\n")[0]!.trim(),
    async startOne(name) {
      const c = await withTimeout(containers.create(createSpec(name)), env.timeoutMs, `create ${name}`);
      await withTimeout(containers.start(c.id), env.timeoutMs, `start ${name}`);
      return c.id;
    },
    async pids(ids) {
      const out: Pids[] = [];
      for (const id of ids) {
        const pid = (await containers.inspect(id)).pid!;
        const parent = await parentOf(pid);
        out.push({ container: pid, ...(parent ? { monitor: parent.pid } : {}) });
      }
      return out;
    },
    async removeAll(ids) {
      await eachLimited(ids, 4, (id) => withTimeout(containers.remove(id, { force: true }), env.timeoutMs, `remove ${id}`));
    },
    close,
    phases() {
      const out: Record<string, number> = {};
      for (const k of [...new Set(samples.flatMap((s) => Object.keys(s)))]) {
        const v = samples.map((s) => s[k]).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
        out[k] = Math.round(v[Math.floor(v.length / 2)]! * 10) / 10;
      }
      return out;
    },
  };
}


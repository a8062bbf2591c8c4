/** Docker as a contender: `docker run -d` against a private dockerd (test/helpers/dockerd.ts). */
import { startPrivateDockerd, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { parentOf } from "../proc.js";
import { IMAGE, PATH_ENV } from "./helpers.js";
import type { BenchEnv, Contender, Pids } from "./types.js";

export async function dockerContender(env: BenchEnv): Promise<Contender> {
  let dockerd: PrivateDockerd | undefined;
  try {
    dockerd = await startPrivateDockerd();
    const d = dockerd;
    await d.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE]);
    return {
      name: "docker run -d (private dockerd)",
      version: `dockerd ${d.version}`,
      async startOne() {
        return (await d.mustDocker(["run", "-d", "--network", "none", IMAGE, "sleep", "3600"], { timeoutMs: env.timeoutMs })).trim();
      },
      async pids(ids) {
        const text = await d.mustDocker(["inspect", "--format", "{{.State.Pid}}", ...ids]);
        const out: Pids[] = [];
        for (const l of text.trim().split("\n")) {
          const pid = Number(l.trim());
          const parent = await parentOf(pid);
          out.push({ container: pid, ...(parent ? { monitor: parent.pid } : {}) });
        }
        return out;
      },
      async removeAll(ids) {
        await d.mustDocker(["rm", "-f", ...ids], { timeoutMs: 300_000 });
      },
      close: () => d.stop(),
    };
  } catch (err) {
    await dockerd?.stop();
    throw err;
  }
}

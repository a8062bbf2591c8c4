/**
 * One unchanged rebuild in a process of its own without a daemon (what a daemonless CLI
 * would cost; `berth image build` goes through the daemon, measured in build.ts): open the runtime on the root (its lock), build
 * the context with the network `none`, close. argv[2]: JSON {root, runRoot, cgroupParent,
 * context, tag}. Prints one JSON line {openMs, buildMs, steps, cached, digest}; exits 1 with
 * the error on stderr.
 */
import { performance } from "node:perf_hooks";
import { openRuntime } from "../../runtime/index.js";
import { runtimeOptions } from "./berth-root.js";

const args = JSON.parse(process.argv[2] ?? "{}") as { root: string; runRoot: string; cgroupParent: string; context: string; tag: string };
const t0 = performance.now();
const rt = await openRuntime(runtimeOptions({ ...args, seen: [] }));
const t1 = performance.now();
try {
  let steps = 0;
  let cached = 0;
  const img = await rt.builder!.build({
    context: args.context,
    tags: [args.tag],
    network: "none",
    onEvent: (e) => {
      if (e.type === "cached") cached++;
      if (e.type === "step") steps++;
    },
  });
  const t2 = performance.now();
  console.log(JSON.stringify({ openMs: t1 - t0, buildMs: t2 - t1, steps, cached, digest: img.digest }));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await rt.close();
}

/**
 * Child-process entry of NetnsProber: started by `nsenter --target PID --net -- node
 * netns-probe.js`, so it runs inside a container's network namespace. Reads
 * `{check, host}` as JSON on stdin, runs the http or tcp probe there with berth's own
 * probers, and writes the ProbeResult as JSON on stdout. The parent enforces the timeout.
 */
import type { Healthcheck } from "../manifests/model.js";
import { HttpProber, TcpProber } from "./probers.js";

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { check, host } = JSON.parse(input) as { check: Healthcheck; host: string };
  const prober = check.probe.type === "http" ? new HttpProber() : new TcpProber();
  const result = await prober.probe(check, { container: "", host }, new AbortController().signal);
  process.stdout.write(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ result: "unknown", output: `netns probe failed: ${(err as Error).message}`, durationMs: 0 }));
    process.exit(0);
  },
);

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Healthcheck } from "../manifests/model.js";
import type { ProbeResult, ProbeTarget, Prober } from "./types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled child script: beside this file in dist/, else dist/ when running from sources. */
export const NETNS_PROBE_SCRIPT = existsSync(path.join(here, "netns-probe.js"))
  ? path.join(here, "netns-probe.js")
  : path.resolve(here, "../../dist/controller/health/netns-probe.js");

/**
 * Runs http and tcp probes of containers that have their own network namespace inside that
 * namespace (`target.netnsPid`), by starting the probe script under `nsenter --net`; every
 * other probe goes to `inner`. Like every Prober it resolves, never rejects: a timeout is a
 * failure, an abort or a namespace that is gone is unknown. The argv is fixed; the check
 * travels on stdin as JSON.
 */
export class NetnsProber implements Prober {
  constructor(
    private readonly inner: Prober,
    private readonly nsenter = "nsenter",
  ) {}

  probe(check: Healthcheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const type = check.probe.type;
    if (target.netnsPid === undefined || (type !== "http" && type !== "tcp")) return this.inner.probe(check, target, signal);
    const started = Date.now();
    return new Promise<ProbeResult>((resolve) => {
      const done = (r: Omit<ProbeResult, "durationMs">) => resolve({ ...r, durationMs: Date.now() - started });
      if (signal.aborted) return done({ result: "unknown", output: "probe cancelled" });
      const child = spawn(this.nsenter, ["--target", String(target.netnsPid), "--net", "--", process.execPath, NETNS_PROBE_SCRIPT], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, check.timeoutMs + 1000); // the script's own timeout fires first; this bounds a stuck child
      const onAbort = () => child.kill("SIGKILL");
      signal.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err = (err + d).slice(-2000)));
      child.on("error", (e) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        done({ result: "unknown", output: `cannot run ${this.nsenter}: ${e.message}` });
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) return done({ result: "unknown", output: "probe cancelled" });
        if (timedOut) return done({ result: "failure", output: `Health check exceeded timeout (${check.timeoutMs}ms)` });
        try {
          const r = JSON.parse(out) as ProbeResult;
          return done({ result: r.result, output: r.output });
        } catch {
          // nsenter fails when the process (and so the namespace) is gone: not the container's fault
          return done({ result: "unknown", output: `probe in network namespace of pid ${target.netnsPid} failed (exit ${code}): ${err.trim() || out.trim()}` });
        }
      });
      child.stdin.on("error", () => {}); // a child that died early: reported by "close"
      child.stdin.end(JSON.stringify({ check, host: target.host }));
    });
  }
}

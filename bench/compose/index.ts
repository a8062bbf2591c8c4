/**
 * Compose files (issue 11): `up -d` of a 10-service Compose file (compose-file.ts) by berth
 * (`berth apply -f compose.yaml -p bbshop --wait` against `berth daemon`, a process) and by
 * `docker-compose up -d` (Debian's 1.29) against a private dockerd, side by side in one run
 * (up.ts); goal: berth at most 0.25x docker-compose. The health-gated file is the goal's; the
 * same file without healthchecks shows the engines' own cost.
 *
 * Everything under one temp dir (run-roots on a private tmpfs); berth's containers under a
 * cgroup parent of the suite's own, its chains under BERTH_FIREWALL_PREFIX=BB, its bridges on
 * 10.214.130-131.0/24; dockerd with no iptables, its bridges on 10.214.140-141.0/24; the
 * busybox image imported into both (no registry). At the end the project is deleted on both
 * sides, dockerd stopped (its state, mounts and cgroups go with it), the daemon stopped, and
 * teardownSuiteEnv removes whatever berth left, even after a failure. Needs root, runc,
 * conmon, busybox, iptables; dockerd and docker-compose (else reported as not measured).
 */
import { existsSync } from "node:fs";
import * as os from "node:os";
import { dockerdMissing, runProcess, startPrivateDockerd, type PrivateDockerd } from "../../test/helpers/dockerd.js";
import { which } from "../../test/helpers/host.js";
import { errText } from "../proc.js";
import { now, round } from "../stats.js";
import { deleteAllContainers, importBusybox, logTail, startBerthDaemon, type BerthDaemonProc } from "../gitops/berth-daemon.js";
import { IMAGE, makeSuiteEnv, PATH_ENV, teardownSuiteEnv, type SuiteEnv } from "../gitops/suite-env.js";
import { defaultComposeBenchOptions, type ComposeBenchOptions } from "./options.js";
import { report, type Versions } from "./report.js";
import { benchUp, cliCosts, type VariantResult } from "./up.js";

export { defaultComposeBenchOptions, type ComposeBenchOptions } from "./options.js";

/**
 * Stops the private dockerd and removes the bridges of the networks it made (dockerd keeps a
 * user-defined network's bridge across its own stop: `docker-compose down` removes them each
 * round, this is for a round that failed before it).
 */
async function stopDockerd(dockerd: PrivateDockerd, notes: string[]): Promise<void> {
  const ids = (await dockerd.docker(["network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge"], { timeoutMs: 30_000 })).stdout.split("\n").map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
  if (ids.length) {
    notes.push(`${ids.length} docker network(s) left after the rounds, removed`);
    await dockerd.docker(["network", "rm", ...ids], { timeoutMs: 60_000 });
  }
  await dockerd.stop();
  for (const id of ids) {
    const bridge = `br-${id.slice(0, 12)}`;
    if (existsSync(`/sys/class/net/${bridge}`)) await runProcess("ip", ["link", "delete", bridge], { timeoutMs: 10_000 });
  }
}

export async function benchComposeSuite(o: ComposeBenchOptions = defaultComposeBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar", "iptables"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const noDocker = dockerdMissing();
  const compose = which("docker-compose");
  if (noDocker) return { skipped: noDocker };
  if (!compose) return { skipped: "needs docker-compose (apt-get install docker-compose)" };
  const started = now();
  const loadAtStart = os.loadavg();
  const notes: string[] = [];
  let env: SuiteEnv | undefined;
  let d: BerthDaemonProc | undefined;
  let dockerd: PrivateDockerd | undefined;
  try {
    env = await makeSuiteEnv("compose", "BB", o.stepTimeoutMs);
    let gated: VariantResult | { error: string } = { error: "not run" };
    let ungated: VariantResult | { error: string } | undefined;
    let versions: Versions | undefined;
    let cli: Awaited<ReturnType<typeof cliCosts>> | undefined;
    try {
      d = await startBerthDaemon(env, { name: "compose", addressPool: "10.214.128.0/18:24" });
      await importBusybox(d, env);
      dockerd = await startPrivateDockerd();
      await dockerd.mustDocker(["import", "--change", 'CMD ["sh"]', "--change", `ENV ${PATH_ENV}`, env.rootfsTgz, IMAGE], { timeoutMs: o.stepTimeoutMs });
      const cv = await runProcess(compose, ["version", "--short"], { timeoutMs: 30_000 });
      versions = { berth: `berth ${(await d.client.version()).version}`, docker: dockerd.version, compose: `docker-compose ${cv.stdout.trim()}` };
      const sides = { berth: d, dockerd, compose };
      try {
        gated = await benchUp(env, sides, true, o);
      } catch (err) {
        gated = { error: errText(err) };
      }
      try {
        cli = await cliCosts(env, o);
      } catch (err) {
        notes.push(`CLI costs not measured: ${errText(err)}`);
      }
      if (o.ungated) {
        try {
          ungated = await benchUp(env, sides, false, o);
        } catch (err) {
          ungated = { error: errText(err) };
        }
      }
    } catch (err) {
      gated = { error: errText(err) };
      if (d) notes.push(`daemon log: ${(await logTail(d)).join(" | ").slice(0, 600)}`);
    } finally {
      if (dockerd) await stopDockerd(dockerd, notes);
      if (d?.alive()) await deleteAllContainers(d, o.stepTimeoutMs).catch((err: unknown) => notes.push(`cleanup: ${errText(err)}`));
      await d?.stop();
    }
    return { ...report(gated, ungated, versions, cli, o, notes, loadAtStart), durationS: round((now() - started) / 1000) };
  } finally {
    await dockerd?.stop();
    if (env) {
      const left = await teardownSuiteEnv(env);
      if (left.length) console.log(`  compose teardown: ${left.join("; ")}`);
    }
  }
}

/**
 * GitOps sources (issue 11), a file per scenario:
 *
 * 1. commit.ts — commit to running: a git work tree watched by `berth daemon` (a process),
 *    one container's env changed and committed, polled until it runs the new spec; split by
 *    the daemon's events; the container's own start measured alike (goal: under 1 s plus it);
 * 2. idle.ts — CPU of a daemon watching an idle tree of 1,000 files (goal: under 1% of a core).
 *
 * Everything under one temp dir (run-roots on a private tmpfs), containers under a cgroup
 * parent of the suite's own, the daemons' chains under BERTH_FIREWALL_PREFIX=BB and their
 * bridges from 10.214.0.0/16; no network traffic leaves the host (DNS upstreams none). At the
 * end the stacks are unwatched (their objects deleted), the daemons stopped, and
 * teardownSuiteEnv removes whatever is left, even after a failure. Needs root, runc, conmon,
 * busybox, git, iptables.
 */
import * as os from "node:os";
import { which } from "../../test/helpers/host.js";
import { errText } from "../proc.js";
import { now, round } from "../stats.js";
import { deleteAllContainers, importBusybox, logTail, startBerthDaemon, type BerthDaemonProc } from "./berth-daemon.js";
import { benchCommit, STACK, type CommitResult } from "./commit.js";
import { benchIdle, type IdleResult } from "./idle.js";
import { defaultGitopsBenchOptions, type GitopsBenchOptions } from "./options.js";
import { report } from "./report.js";
import { makeSuiteEnv, teardownSuiteEnv, type SuiteEnv } from "./suite-env.js";

export { defaultGitopsBenchOptions, type GitopsBenchOptions } from "./options.js";

export async function benchGitops(o: GitopsBenchOptions = defaultGitopsBenchOptions()) {
  if (process.getuid?.() !== 0) return { skipped: "needs root (containers, overlay mounts, cgroups)" };
  for (const cmd of ["runc", "conmon", "busybox", "tar", "git", "iptables", "getconf"]) if (!which(cmd)) return { skipped: `needs ${cmd}` };
  const started = now();
  const loadAtStart = os.loadavg();
  const notes: string[] = [];
  let env: SuiteEnv | undefined;
  let d: BerthDaemonProc | undefined;
  try {
    env = await makeSuiteEnv("gitops", "BB", o.stepTimeoutMs);
    let commit: CommitResult | { error: string };
    try {
      d = await startBerthDaemon(env, { name: "commit", addressPool: "10.214.0.0/18:24" });
      await importBusybox(d, env);
      commit = await benchCommit(env, d, o);
    } catch (err) {
      commit = { error: errText(err) };
      if (d) notes.push(`commit daemon log: ${(await logTail(d)).join(" | ").slice(0, 600)}`);
    } finally {
      if (d?.alive()) {
        await d.client.unregisterSource(STACK).catch(() => {});
        await deleteAllContainers(d, o.stepTimeoutMs).catch((err: unknown) => notes.push(`commit cleanup: ${errText(err)}`));
      }
      await d?.stop();
    }
    let idle: IdleResult | { error: string };
    try {
      idle = await benchIdle(env, o);
    } catch (err) {
      idle = { error: errText(err) };
    }
    return { ...report(commit, idle, o, notes, loadAtStart), durationS: round((now() - started) / 1000) };
  } finally {
    if (env) {
      const left = await teardownSuiteEnv(env);
      if (left.length) console.log(`  gitops teardown: ${left.join("; ")}`);
    }
  }
}

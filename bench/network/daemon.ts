/**
 * The same networking through berth's daemon and CLI (the controller's real path): a stack
 * with a Network (own subnet), `web` (busybox httpd, 127.0.0.1:<port>:80) and `peer`;
 * `apply --wait` timed; an HTTP request to the published port from the host; `exec peer --
 * nslookup web <gateway>`; then K apply/delete cycles of a container with a published port,
 * counted before and after as in churn.ts; finally `delete -f` of everything and the daemon
 * stopped (SIGTERM). The daemon runs with BERTH_FIREWALL_PREFIX of this process (BTB), after
 * the in-process runtime's networks are gone (two roots must not share a prefix at once).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, promises as fs } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { runProcess } from "../../test/helpers/dockerd.js";
import { errText } from "../proc.js";
import { now, round, sleep, summarize } from "../stats.js";
import { repo, type NetEnv } from "./env.js";
import { countHost, countsDiffer } from "./host-state.js";
import { PORTS, SUBNETS, type NetworkBenchOptions } from "./options.js";

const cliJs = path.join(repo, "dist/cli/main.js");

function manifests(env: NetEnv) {
  const image = `apiVersion: berth/v1
kind: Image
metadata:
  name: busybox
spec:
  reference: localhost/btb/busybox:latest
  import:
    path: ${env.rootfsTar}
    format: rootfs
    config:
      cmd: ["sh"]
  pullPolicy: ifNotPresent
`;
  const network = `apiVersion: berth/v1
kind: Network
metadata:
  name: bnet
spec:
  driver: bridge
  subnet: ${SUBNETS.daemon}
`;
  const ctr = (name: string, command: string[], ports: string[]) => `apiVersion: berth/v1
kind: Container
metadata:
  name: ${name}
spec:
  image: localhost/btb/busybox:latest
  command: ${JSON.stringify(command)}
  networks: ["bnet"]
  ports: ${JSON.stringify(ports)}
`;
  return {
    stack: { "image.yaml": image, "network.yaml": network, "web.yaml": ctr("web", ["httpd", "-f", "-p", "80", "-h", "/www"], [`127.0.0.1:${PORTS.daemonWeb}:80`]), "peer.yaml": ctr("peer", ["sleep", "3600"], []) },
    churn: { "churn.yaml": ctr("churn", ["httpd", "-f", "-p", "80", "-h", "/www"], [`127.0.0.1:${PORTS.daemonChurn}:80`]) },
  };
}

function httpStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

export async function benchDaemon(env: NetEnv, o: NetworkBenchOptions) {
  const root = path.join(env.base, "daemon-root");
  const runRoot = path.join(env.run, "daemon");
  env.roots.push(root);
  for (const n of ["web", "peer", "churn"]) env.attachments.push([root, n, "bnet"]);
  const mdir = path.join(env.base, "manifests");
  const m = manifests(env);
  const stackDir = path.join(mdir, "btbstack");
  const churnDir = path.join(mdir, "btbchurn");
  for (const [dir, files] of [[stackDir, m.stack], [churnDir, m.churn]] as const) {
    await fs.mkdir(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) await fs.writeFile(path.join(dir, f), text);
  }
  const cli = (args: string[], timeoutMs = env.timeoutMs) => runProcess(process.execPath, [cliJs, "--run-root", runRoot, ...args], { timeoutMs });
  const must = async (args: string[], timeoutMs = env.timeoutMs) => {
    const r = await cli(args, timeoutMs);
    if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-600)}`);
    return r.stdout;
  };
  const gone = async (name: string) => {
    for (let i = 0; i < 150; i++) {
      if ((await cli(["get", "ctr", name, "-o", "json"])).code !== 0) return;
      await sleep(200);
    }
    throw new Error(`container ${name} still there 30 s after delete`);
  };
  const ctrJson = async (name: string) => JSON.parse(await must(["get", "ctr", name, "-o", "json"])) as { status?: Record<string, unknown> };
  const logFile = path.join(env.base, "daemon.log");
  const logFd = openSync(logFile, "a");
  const daemon: ChildProcess = spawn(process.execPath, [cliJs, "--root", root, "--run-root", runRoot, "daemon", "--log-level", "warn", "--cgroup-parent", `${env.cgroupPrefix}-d`], { stdio: ["ignore", logFd, logFd], env: process.env });
  closeSync(logFd);
  let exited = false;
  daemon.on("exit", () => (exited = true));
  const out: Record<string, unknown> = {};
  try {
    for (let i = 0; ; i++) {
      if ((await cli(["get", "ctr"], 10_000)).code === 0) break;
      if (exited || i > 150) throw new Error(`daemon did not answer: ${(await fs.readFile(logFile, "utf8")).slice(-800)}`);
      await sleep(200);
    }
    let t0 = now();
    await must(["apply", "-f", stackDir, "--wait", "--timeout", "2m"], 150_000);
    out.applyStackMs = round(now() - t0);
    const web = await ctrJson("web");
    out.webStatus = { networks: web.status?.networks ?? null, ports: web.status?.ports ?? null };
    const nets = (web.status?.networks ?? []) as { address?: string; gateway?: string }[];
    const webAddr = nets[0]?.address?.split("/")[0];
    const gateway = nets[0]?.gateway ?? SUBNETS.daemon.replace(/\.0\/24$/, ".1");
    out.httpToPublishedPort = await httpStatus(PORTS.daemonWeb).then((c) => ({ status: c }), (e) => ({ error: errText(e) }));
    const ns = await cli(["exec", "peer", "--", "nslookup", "-type=a", "web", gateway], 20_000);
    out.peerNslookupWeb = { ok: ns.code === 0 && !!webAddr && ns.stdout.includes(webAddr), output: `${ns.stdout}${ns.stderr}`.trim().slice(-300) };

    const before = await countHost(root);
    let during: Awaited<ReturnType<typeof countHost>> | undefined;
    const cycles: number[] = [];
    let error: string | undefined;
    const deadline = now() + 90_000;
    for (let i = 0; i < o.daemonChurnCycles && now() < deadline; i++) {
      try {
        t0 = now();
        await must(["apply", "-f", churnDir, "--wait", "--timeout", "1m"], 70_000);
        if (i === 0) {
          during = await countHost(root);
          out.churnHttp = await httpStatus(PORTS.daemonChurn).then((c) => ({ status: c }), (e) => ({ error: errText(e) }));
        }
        await must(["delete", "-f", churnDir]);
        await gone("churn");
        cycles.push(now() - t0);
      } catch (err) {
        error = `cycle ${i}: ${errText(err)}`;
        break;
      }
    }
    const after = await countHost(root);
    const diff = countsDiffer(before, after);
    out.churn = { cycles: cycles.length, cycleMs: summarize(cycles), before, during: during ?? null, after, pass: diff.length === 0 && !error, diff, ...(error ? { error } : {}) };
  } catch (err) {
    out.error = errText(err);
  } finally {
    const d = await cli(["delete", "-f", stackDir, "-f", churnDir, "--ignore-not-found"], 60_000);
    if (d.code !== 0) out.deleteError = (d.stderr || d.stdout).trim().slice(-400);
    for (const n of ["web", "peer", "churn"]) await gone(n).catch((e) => ((out.leftContainers ??= [] as string[]) as string[]).push(errText(e)));
    if (!exited) {
      daemon.kill("SIGTERM");
      for (let i = 0; i < 100 && !exited; i++) await sleep(100);
      if (!exited) daemon.kill("SIGKILL");
    }
    out.daemonLogTail = (await fs.readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-5);
  }
  return out;
}

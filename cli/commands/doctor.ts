import { accessSync, constants as fsc } from "node:fs";
import { DEFAULT_INIT_PATH } from "../../runtime/containers/options.js";
import { hostProbe, runDoctor, type CheckStatus } from "../../runtime/doctor.js";

/** The init of `init: true` containers: optional (a warning), since only those need it. */
export function checkInit(path = DEFAULT_INIT_PATH, executable = (p: string) => {
  try {
    accessSync(p, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}): { name: "init"; status: CheckStatus; detail: string; fix?: string } {
  return executable(path)
    ? { name: "init", status: "ok", detail: `${path} (containers with init: true)` }
    : { name: "init", status: "warn", detail: `${path} not found: containers with init: true cannot be created`, fix: "apt-get install tini" };
}
import { paint } from "../style.js";

/** `berth doctor`: 0 when the host can run containers, 1 when something is missing. */
export async function runDoctorCommand(opts: { output: "text" | "json"; root?: string }): Promise<number> {
  const base = await runDoctor(hostProbe(opts.root ? { root: opts.root } : {}));
  const report = { ...base, checks: [...base.checks, checkInit()] };
  if (opts.output === "json") {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return report.ok ? 0 : 1;
  }
  const c = paint(process.stdout);
  const mark = { ok: c.green("ok  "), warn: c.yellow("warn"), fail: c.red("FAIL") };
  for (const check of report.checks) {
    process.stdout.write(`${mark[check.status]}  ${check.name.padEnd(12)} ${check.detail}\n`);
    if (check.fix) process.stdout.write(`      ${"".padEnd(12)} fix: ${check.fix}\n`);
  }
  if (report.firewall) {
    const lines = report.firewall.flatMap((t) => t.lines.map((l) => `  ${t.table.padEnd(6)} ${l}`));
    process.stdout.write(`\nFirewall rules berth owns (iptables; add your own to the USER chain, evaluated first):\n${lines.length ? lines.join("\n") : "  <none>"}\n`);
  }
  process.stdout.write(report.ok ? "\nThis host can run berth containers.\n" : "\nThis host cannot run berth containers yet: see the fixes above.\n");
  return report.ok ? 0 : 1;
}

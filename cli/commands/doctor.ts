import { hostProbe, runDoctor } from "../../runtime/doctor.js";
import { paint } from "../style.js";

/** `berth doctor`: 0 when the host can run containers, 1 when something is missing. */
export async function runDoctorCommand(opts: { output: "text" | "json"; root?: string }): Promise<number> {
  const report = await runDoctor(hostProbe(opts.root ? { root: opts.root } : {}));
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

/**
 * Removes a suite's berth network state in a process whose BERTH_FIREWALL_PREFIX is the
 * suite's (berth reads the prefix once, at module load, and bench/run.ts has loaded it as
 * BERTH already): each root's container namespaces and bridges, then every chain and hook of
 * the prefix. argv[2]: JSON {roots: string[]}. Refuses to run with the default prefix (the
 * host's own berth). Exits 0 having tried everything; failures are printed, never thrown.
 */
import { cleanNetworksOfRoot } from "../../test/helpers/net-cleanup.js";
import { Firewall } from "../../runtime/networks/firewall.js";
import { PREFIX } from "../../runtime/networks/firewall-rules.js";

const args = JSON.parse(process.argv[2] ?? "{}") as { roots?: string[] };
if (PREFIX === "BERTH") {
  console.error("host cleanup: BERTH_FIREWALL_PREFIX is the default; refusing to touch the host's berth chains");
  process.exit(2);
}
for (const root of args.roots ?? []) await cleanNetworksOfRoot(root).catch((err: unknown) => console.error(`clean ${root}: ${String(err)}`));
await new Firewall().teardown({ all: true }).catch((err: unknown) => console.error(`teardown ${PREFIX}: ${String(err)}`));

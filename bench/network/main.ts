/** Child entry of the network benchmark (index.ts): runs it, writes its summary as JSON to argv[2]. */
import { writeFileSync } from "node:fs";
import { runNetworkBench } from "./bench.js";
import { defaultNetworkBenchOptions } from "./options.js";

const file = process.argv[2];
const summary = await runNetworkBench(defaultNetworkBenchOptions());
if (file) writeFileSync(file, JSON.stringify(summary, null, 2) + "\n");
process.exit(0);

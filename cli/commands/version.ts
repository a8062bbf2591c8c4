import { readFileSync } from "node:fs";
import * as os from "node:os";
import { stringify } from "yaml";
import { isNoDaemon } from "../../controller/api/client.js";
import type { VersionInfo } from "../../controller/api/protocol.js";
import { errorMessage } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

/**
 * `berth version`, as `docker version`: the client's part always, then the daemon's. When
 * the daemon cannot be reached the client's part is printed and the error after it, exit 1
 * (Docker's). -o json prints `{Client, Server}` (Server null when unreachable).
 */
export async function runVersion(ctx: CommandContext, opts: { output?: string } = {}): Promise<number> {
  const output = opts.output ?? "text";
  if (!["text", "json", "yaml"].includes(output)) throw new UsageError(`invalid output format ${JSON.stringify(output)}: use json or yaml`);
  const client = { version: pkg.version, apiVersion: "v1", nodeVersion: process.version, os: os.platform(), arch: os.arch() };
  let server: VersionInfo | undefined;
  let failure: unknown;
  try {
    server = await ctx.client.version();
  } catch (err) {
    failure = err;
  }
  if (output !== "text") {
    const doc = { Client: client, Server: server ?? null };
    ctx.stdout.write(output === "json" ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 }));
  } else {
    const lines = ["Client:", ` Version:      ${client.version}`, ` API version:  ${client.apiVersion}`, ` Node version: ${client.nodeVersion}`, ` OS/Arch:      ${client.os}/${client.arch}`];
    if (server) {
      lines.push(
        "",
        "Server: berth daemon",
        ` Version:      ${server.version}`,
        ` API version:  ${server.apiVersion ?? "v1"}`,
        ...(server.nodeVersion ? [` Node version: ${server.nodeVersion}`] : []),
        ...(server.os ? [` OS/Arch:      ${server.os}/${server.arch ?? ""}`] : []),
        ...(server.kernel ? [` Kernel:       ${server.kernel}`] : []),
        ` Pid:          ${server.pid}`,
        ` Started:      ${server.startedAt}`,
        " runc:",
        `  Version:     ${server.runc ?? "unknown"}`,
        " conmon:",
        `  Version:     ${server.conmon ?? "unknown"}`,
      );
    }
    ctx.stdout.write(`${lines.join("\n")}\n`);
  }
  if (failure !== undefined) {
    ctx.stderr.write(`${isNoDaemon(failure) ? `Cannot connect to the berth daemon at ${ctx.client.socketPath}. Is the berth daemon running?` : errorMessage(failure)}\n`);
    return 1;
  }
  return 0;
}

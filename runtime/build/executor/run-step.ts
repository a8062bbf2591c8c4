/**
 * A Dockerfile RUN step, for real: a runc container on the image built so far runs the
 * command; its output is handed over line by line as it comes (never hidden: buildkit#824);
 * on exit 0 its writable layer becomes the next image (runtime commit), on any other code the
 * build fails with Docker's words. The container is removed either way.
 *
 * The step's container: no-new-privileges, Docker's default capabilities, the image's user
 * and working directory, the config's Env plus the build args in scope (not persisted), and
 * the network the build asked for — `bridge` (default, as Docker's build network: a NAT'd
 * berth network `berth-build`, made on first use, the embedded resolver for names), `host`
 * or `none`. Runc is no safe boundary against a hostile Dockerfile on this host (the runc
 * here lacks the 2025 CVE fixes): next-features.md, and the README say so.
 */
import { randomBytes } from "node:crypto";
import { errorMessage, invalidArgument, isBerthError } from "../../../lib/errors.js";
import type { Runtime } from "../../index.js";
import type { ContainerCreateSpec, ImageRecord, ImageRuntimeConfig } from "../../types.js";

export type BuildNetwork = "bridge" | "host" | "none";

/** The berth network RUN steps join in bridge mode. */
export const BUILD_NETWORK = "berth-build";

export interface RunStepInput {
  /** Digest of the image the step runs on. */
  base: string;
  argv: string[];
  /** The whole runtime config of the image so far (the new image's too). */
  config: ImageRuntimeConfig;
  /** Build args in scope for this step: in its environment, not in the image. */
  buildArgs: Record<string, string>;
  network: BuildNetwork;
  /** History's CREATED BY. */
  createdBy: string;
  /** Config-only steps since the last layer, to come first in the new image's history. */
  pendingHistory: { createdBy: string; comment?: string }[];
  onOutput: (stream: "stdout" | "stderr", line: string) => void;
  signal?: AbortSignal;
}

export type RunRuntime = Pick<Runtime, "containers" | "networks">;

function envOf(config: ImageRuntimeConfig, buildArgs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  // build args first: the image's ENV of the same name wins, as in Docker
  for (const [k, v] of Object.entries(buildArgs)) env[k] = v;
  for (const kv of config.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

async function buildNetwork(rt: RunRuntime, name: string): Promise<Pick<ContainerCreateSpec, "dns" | "hosts">> {
  await rt.networks.inspect(BUILD_NETWORK).catch(async (err: unknown) => {
    if (!isBerthError(err, "NotFound")) throw err;
    await rt.networks.create({ name: BUILD_NETWORK, internal: false, labels: { "berth.dev/build-network": "true" } }).catch(async (e: unknown) => {
      if (!isBerthError(e, "AlreadyExists")) throw e;
    });
  });
  const r = await rt.networks.reserve(BUILD_NETWORK, name);
  return { dns: { nameservers: [r.gateway], search: [], options: ["ndots:0"] }, hosts: [{ address: r.address, names: [name] }] };
}

/** Runs the step; resolves with the new image (untagged). */
export async function runStep(rt: RunRuntime, input: RunStepInput): Promise<ImageRecord> {
  const name = `berth-build-${randomBytes(6).toString("hex")}`;
  const net = input.network === "bridge" ? await buildNetwork(rt, name) : {};
  const spec: ContainerCreateSpec = {
    name,
    image: input.base,
    labels: { "berth.dev/build-step": "true" },
    command: input.argv,
    env: envOf(input.config, input.buildArgs),
    ...(input.config.WorkingDir ? { workingDir: input.config.WorkingDir } : {}),
    ...(input.config.User ? { user: input.config.User } : {}),
    mounts: [],
    networkMode: input.network,
    ...net,
    resources: {},
    stopGracePeriodMs: 1000,
    readOnlyRootfs: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    noNewPrivileges: true,
  };
  let created: string | undefined;
  try {
    const c = await rt.containers.create(spec);
    created = c.id;
    if (input.network === "bridge") {
      await rt.networks.connect({ network: BUILD_NETWORK, container: name, netns: c.netns!, ifname: "eth0", names: [name], defaultRoute: true });
    }
    await rt.containers.start(c.id);
    try {
      for await (const l of rt.containers.logs(c.id, { follow: true, ...(input.signal ? { signal: input.signal } : {}) })) input.onOutput(l.stream, l.text);
    } catch (err) {
      throw input.signal?.aborted ? input.signal.reason : err;
    }
    let state = await rt.containers.inspect(c.id);
    for (let i = 0; state.status === "running" && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      state = await rt.containers.inspect(c.id);
    }
    if (state.status === "running") throw invalidArgument(`${input.createdBy}: the step's output ended but it did not exit`);
    if (state.exitCode !== 0) {
      throw invalidArgument(`The command '${input.argv.join(" ")}' returned a non-zero code: ${state.exitCode}${state.oomKilled ? " (killed: out of memory)" : ""}`);
    }
    if (!rt.containers.commit) throw invalidArgument("this runtime cannot commit containers");
    return await rt.containers.commit(c.id, { config: input.config, createdBy: input.createdBy, pendingHistory: input.pendingHistory });
  } finally {
    if (created) {
      await rt.containers.remove(created, { force: true }).catch((err: unknown) => input.onOutput("stderr", `berth: removing the step's container failed: ${errorMessage(err)}`));
    }
    if (input.network === "bridge") await rt.networks.release(name).catch(() => {});
  }
}

/**
 * `berth image build`, `pull`, `push`, `berth login` and `logout`, as Docker has them.
 * Build needs the daemon (RUN steps run in containers, which the daemon owns); the others go
 * through the daemon when one serves the root, else open the store and the registry service
 * directly under the root lock (cli/local-registry.ts), printing the same lines either way
 * (build-output.ts, transfer-output.ts).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { ApiClient } from "../../controller/api/client.js";
import type { ImageBuildRequest, ImageTransferEvent } from "../../controller/api/protocol.js";
import { pullWith, pushWith } from "../../controller/api/transfer-events.js";
import { BerthError, errorMessage, failedPrecondition, invalidArgument, unavailable } from "../../lib/errors.js";
import { normalizeTaggedReference, parseReference } from "../../lib/reference.js";
import type { RegistryService } from "../../runtime/registry/types.js";
import type { Output } from "../client.js";
import { UsageError } from "../errors.js";
import { BuildPrinter, buildProgressMode } from "./build-output.js";
import { TransferPrinter, type TransferMode } from "./transfer-output.js";

/** What these commands run with: output, input, the daemon if one serves the root, else the local registry. */
export interface TransferContext {
  stdout: Output;
  stderr: Output;
  stdin: Readable;
  /** The daemon's client when one serves the root; undefined when none does. */
  daemon(): Promise<ApiClient | undefined>;
  /** Runs `fn` with the registry service opened on the root itself (no daemon). */
  withRegistry<T>(fn: (registry: RegistryService) => Promise<T>): Promise<T>;
  /** Ctrl-C: aborts the build, pull or push (the daemon's too: the connection closes). */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/**
 * The context of a command run from the shell: process stdio, the daemon serving the root
 * (image.ts daemonFor), the local registry otherwise, Ctrl-C as the signal.
 */
export async function processTransferContext(g: import("./image.js").ImageGlobals): Promise<TransferContext> {
  const [{ daemonFor }, { withRegistry }, { processContext }] = await Promise.all([import("./image.js"), import("../local-registry.js"), import("../client.js")]);
  const pc = processContext({ runRoot: g.runRoot, ...(g.socket ? { socket: g.socket } : {}) });
  return {
    stdout: pc.stdout,
    stderr: pc.stderr,
    stdin: pc.stdin,
    daemon: () => daemonFor(g),
    withRegistry: (fn) => withRegistry(g, fn),
    signal: pc.interrupt(),
  };
}

/** Docker Hub's key, as `docker login` with no server uses it (credentialKey makes it `docker.io`). */
export const DEFAULT_REGISTRY = "https://index.docker.io/v1/";

export interface BuildOptions {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  /** commander's `--no-cache`: false when given. */
  cache: boolean;
  network?: "bridge" | "host" | "none";
  progress: "auto" | "plain" | "quiet";
  quiet: boolean;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString("utf8");
}

/** `--build-arg K=V`; a bare `K` takes K's value from the environment, or is left out when unset (as Docker). */
export function parseBuildArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (!name) throw new UsageError(`build: --build-arg ${JSON.stringify(a)}: expected NAME=VALUE`);
    if (eq >= 0) out[name] = a.slice(eq + 1);
    else if (env[name] !== undefined) out[name] = env[name]!;
  }
  return out;
}

/**
 * The request of `berth image build`: the context as an absolute path (the daemon reads it
 * there); `-f` inside the context as its path there (read by the daemon's safe walker), `-f`
 * outside it or `-f -` as the Dockerfile's text (read here: Docker takes -f outside the
 * context too). Tags are checked here, before anything is sent.
 */
export async function buildRequestOf(contextArg: string, o: BuildOptions, io: { stdin: Readable; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ImageBuildRequest> {
  if (contextArg === "-") throw new UsageError("build: a context on standard input is not supported; give a directory (and -f - for a Dockerfile on standard input)");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(contextArg)) throw new UsageError(`build: ${contextArg}: only a local directory can be a build context`);
  const cwd = io.cwd ?? process.cwd();
  const context = path.resolve(cwd, contextArg);
  for (const t of o.tag) {
    try {
      normalizeTaggedReference(t);
    } catch (err) {
      throw invalidArgument(`build image: -t ${JSON.stringify(t)}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const req: ImageBuildRequest = { context, tags: o.tag };
  if (o.file === "-") req.dockerfileText = await readAll(io.stdin);
  else if (o.file !== undefined) {
    const abs = path.resolve(cwd, o.file);
    const rel = path.relative(context, abs);
    if (rel && !rel.startsWith("..") && !path.isAbsolute(rel)) req.dockerfile = rel.split(path.sep).join("/");
    else {
      req.dockerfileText = await fs.readFile(abs, "utf8").catch((err: NodeJS.ErrnoException) => {
        throw invalidArgument(`build image: read Dockerfile ${o.file}: ${err.code === "ENOENT" ? "no such file" : err.message}`, { cause: err });
      });
    }
  }
  const buildArgs = parseBuildArgs(o.buildArg, io.env);
  if (Object.keys(buildArgs).length) req.buildArgs = buildArgs;
  if (o.target) req.target = o.target;
  if (!o.cache) req.noCache = true;
  if (o.network) req.network = o.network;
  return req;
}

/**
 * `berth image build`: streams the build through the daemon. A failed build (its error
 * event: a located Dockerfile error, a failing RUN) prints the message and exits 1, as
 * docker build; a request the daemon refuses is the usual error (its kind's exit code).
 */
export async function runBuild(ctx: TransferContext, contextArg: string, o: BuildOptions): Promise<number> {
  const req = await buildRequestOf(contextArg, o, { stdin: ctx.stdin, ...(ctx.env ? { env: ctx.env } : {}) });
  const client = await ctx.daemon();
  if (!client) throw failedPrecondition("build image: a build needs a running berth daemon (RUN steps run in its containers); start one with `berth daemon`");
  const printer = new BuildPrinter(ctx.stdout, ctx.stderr, buildProgressMode(o.progress, o.quiet, ctx.stdout));
  for await (const e of client.buildImage(req, ctx.signal)) {
    if (e.type === "error") {
      ctx.stderr.write(`berth: ${e.error.message}\n`);
      return 1;
    }
    printer.event(e);
    if (e.type === "done") return 0;
  }
  ctx.signal?.throwIfAborted();
  throw unavailable("build image: the daemon's answer ended before the build did");
}

const transferMode = (quiet: boolean, out: Output): TransferMode => (quiet ? "quiet" : out.isTTY ? "tty" : "plain");

/** The daemon's events to `onEvent`; an error event is thrown as its kind, and a stream without a `last` event broke off. */
async function drain(events: AsyncIterable<ImageTransferEvent>, onEvent: (e: ImageTransferEvent) => void, last: (e: ImageTransferEvent) => boolean, what: string, signal?: AbortSignal): Promise<void> {
  let ended = false;
  for await (const e of events) {
    if (e.kind === "error") throw new BerthError(e.error.kind, e.error.message);
    onEvent(e);
    if (last(e)) ended = true;
  }
  signal?.throwIfAborted();
  if (!ended) throw unavailable(`${what}: the daemon's answer ended before the transfer did`);
}

/** `berth image pull REF [--all-tags] [-q]`. */
export async function runPull(ctx: TransferContext, ref: string, o: { allTags: boolean; quiet: boolean }): Promise<number> {
  let parsed;
  try {
    parsed = parseReference(ref, { defaultTag: !o.allTags });
  } catch (err) {
    throw invalidArgument(`pull image ${ref}: ${errorMessage(err)}`, { cause: err });
  }
  if (o.allTags && (parsed.tag || parsed.digest)) throw new UsageError("pull: a tag or digest cannot be used with --all-tags");
  const mode = transferMode(o.quiet, ctx.stdout);
  const printer = new TransferPrinter(ctx.stdout, mode, "pull");
  if (mode !== "quiet" && !o.allTags && !/[:@][^/]*$/.test(ref)) ctx.stdout.write("Using default tag: latest\n");
  const req = { reference: ref, ...(o.allTags ? { allTags: true } : {}) };
  const onEvent = (e: ImageTransferEvent) => printer.event(e);
  const client = await ctx.daemon();
  if (client) await drain(client.pullImage(req, ctx.signal), onEvent, (e) => e.kind === "pulled", `pull image ${ref}`, ctx.signal);
  else await ctx.withRegistry((r) => pullWith(r, req, onEvent, ctx.signal));
  return 0;
}

/** `berth image push REF [-q]`. */
export async function runPush(ctx: TransferContext, ref: string, o: { quiet: boolean }): Promise<number> {
  try {
    parseReference(ref);
  } catch (err) {
    throw invalidArgument(`push image ${ref}: ${errorMessage(err)}`, { cause: err });
  }
  const mode = transferMode(o.quiet, ctx.stdout);
  const printer = new TransferPrinter(ctx.stdout, mode, "push");
  printer.pushStarted(ref);
  const onEvent = (e: ImageTransferEvent) => printer.event(e);
  const client = await ctx.daemon();
  if (client) await drain(client.pushImage({ reference: ref }, ctx.signal), onEvent, (e) => e.kind === "pushed", `push image ${ref}`, ctx.signal);
  else await ctx.withRegistry((r) => pushWith(r, { reference: ref }, onEvent, ctx.signal));
  return 0;
}

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin: boolean;
}

/**
 * The user name and password of `berth login`: `-p` (with Docker's warning), or
 * `--password-stdin` (its trailing newline dropped). No prompt: without a password this is
 * a UsageError saying how to give one. The password is never printed.
 */
export async function loginCredentials(o: LoginOptions, io: { stdin: Readable; stderr: Output }): Promise<{ username: string; password: string }> {
  if (o.password !== undefined && o.passwordStdin) throw new UsageError("login: --password and --password-stdin are mutually exclusive");
  if (o.passwordStdin && !o.username) throw new UsageError("login: --password-stdin needs --username (-u)");
  let password = o.password;
  if (password !== undefined) io.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  if (o.passwordStdin) password = (await readAll(io.stdin)).replace(/\r?\n$/, "");
  if (!o.username) throw new UsageError("login: a user name is required: -u USER, with --password-stdin (or -p PASSWORD)");
  if (password === undefined) throw new UsageError("login: no password given: pipe it to --password-stdin (or give -p PASSWORD)");
  if (password === "") throw new UsageError("login: the password is empty");
  return { username: o.username, password };
}

/** `berth login [SERVER]`: checked against the registry, then stored; prints `Login Succeeded`. */
export async function runLogin(ctx: TransferContext, server: string | undefined, o: LoginOptions): Promise<number> {
  const registry = server ?? DEFAULT_REGISTRY;
  const cred = await loginCredentials(o, ctx);
  const client = await ctx.daemon();
  if (client) await client.login({ registry, ...cred });
  else await ctx.withRegistry((r) => r.login(registry, cred));
  ctx.stdout.write("Login Succeeded\n");
  return 0;
}

/** `berth logout [SERVER]`: Docker's words for removed and for not logged in. */
export async function runLogout(ctx: TransferContext, server: string | undefined): Promise<number> {
  const registry = server ?? DEFAULT_REGISTRY;
  const client = await ctx.daemon();
  const { credentialKey } = await import("../../runtime/registry/credentials.js");
  const key = credentialKey(registry);
  const removed = client ? (await client.logout({ registry })).removed : await ctx.withRegistry((r) => r.logout(registry));
  ctx.stdout.write(removed ? `Removing login credentials for ${key}\n` : `Not logged in to ${key}\n`);
  return 0;
}

import { randomInt } from "node:crypto";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { attachStream, byteSink, DEFAULT_DETACH_KEYS } from "./attach.js";
import { parseEnv } from "./exec.js";

/**
 * `berth run [--rm] [-it] [-d] [--name N] [-e K=V] [-p ...] [-v ...] [--network N]
 * [--restart P] [--stack S] IMAGE [COMMAND...]`, the imperative one-off of `docker run` and
 * `kubectl run`: a Container object applied through the same path as manifests (stack `run`
 * unless --stack; -p and -v are the manifests' short syntax, parsed and checked by the daemon
 * as a manifest's are), then — unless -d — its output followed (with -i, attached: stdin and
 * with -t a terminal) until it ends; berth exits with its exit code. --rm deletes the object
 * once the process exited (not after a detach, Ctrl-P Ctrl-Q, which leaves it running).
 * The restart policy is Docker's default, `no`, unless --restart.
 */
export interface RunOptions {
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  name?: string;
  env: string[];
  publish: string[];
  volume: string[];
  network?: string;
  restart?: string;
  stack?: string;
  detachKeys?: string;
  /** Where relative bind sources resolve (the working directory). */
  cwd?: string;
}

// Docker's name generator's shape (moby/pkg/namesgenerator): adjective_surname.
const LEFT = ["admiring", "brave", "calm", "dazzling", "eager", "focused", "gifted", "happy", "jolly", "keen", "lucid", "modest", "nifty", "quirky", "serene", "tender", "vibrant", "wizardly", "zealous", "upbeat"];
const RIGHT = ["babbage", "curie", "darwin", "euler", "fermat", "galois", "hopper", "kepler", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak", "yonath", "hypatia", "lamarr"];

/** A generated name like Docker's, as a DNS label (berth names are): `brave-turing-3f2a`. */
export function generatedName(rand: (n: number) => number = randomInt): string {
  const hex = rand(0x10000).toString(16).padStart(4, "0");
  return `${LEFT[rand(LEFT.length)]}-${RIGHT[rand(RIGHT.length)]}-${hex}`;
}

/** The Container object `berth run` applies (pure). */
export function runManifest(image: string, command: string[], o: RunOptions, environ: NodeJS.ProcessEnv = process.env): { name: string; stack: string; object: Record<string, unknown> } {
  if (!image) throw new UsageError("no image given; usage: berth run [OPTIONS] IMAGE [COMMAND...]");
  const name = o.name ?? generatedName();
  const stack = o.stack ?? "run";
  const env = parseEnv(o.env, environ);
  const spec: Record<string, unknown> = { image, restartPolicy: o.restart ?? "no" };
  if (command.length) spec.command = command;
  if (Object.keys(env).length) spec.env = env;
  if (o.publish.length) spec.ports = o.publish;
  if (o.volume.length) spec.mounts = o.volume;
  if (o.network) {
    if (o.network === "host" || o.network === "none" || o.network === "bridge" || o.network.startsWith("container:")) spec.networkMode = o.network;
    else spec.networks = [o.network];
  }
  if (o.tty) spec.tty = true;
  // docker run -i: the process's stdin closes when berth's input ends (StdinOnce; not a terminal's).
  if (o.interactive) spec.stdin = true;
  if (o.interactive && !o.tty) spec.stdinOnce = true;
  return { name, stack, object: { apiVersion: "berth/v1", kind: "Container", metadata: { name }, spec } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ContainerViewLite {
  status?: { phase?: string; exitCode?: number; message?: string; reason?: string };
}

async function phaseOf(ctx: CommandContext, name: string): Promise<ContainerViewLite["status"]> {
  return ((await ctx.client.get("Container", name)) as ContainerViewLite).status;
}

export async function runRun(ctx: CommandContext, image: string, command: string[], o: RunOptions): Promise<number> {
  if (o.detach && o.rm) throw new UsageError("--rm and -d cannot be used together: a detached container's object stays until berth delete");
  const stdinIsTty = (ctx.stdin as { isTTY?: boolean }).isTTY === true;
  if (o.tty && o.interactive && !stdinIsTty) throw new UsageError("the input device is not a TTY (use -i without -t for a pipe)");
  const { name, stack, object } = runManifest(image, command, o);
  const apply = async () => {
    const applied = await ctx.client.apply({ stack, files: [{ file: "berth-run", text: JSON.stringify(object), baseDir: o.cwd ?? process.cwd() }] });
    const problems = (applied as { errors?: { message: string }[] }).errors ?? [];
    if (problems.length) throw new UsageError(`run ${image}: ${problems.map((e) => e.message).join("; ")}`);
  };
  let exitCode: number | undefined;
  if (!o.detach && (o.interactive || o.tty)) {
    const r = await attachedRun(ctx, name, o, apply);
    if (r.detached) {
      ctx.stderr.write("read escape sequence\n");
      return 0;
    }
    exitCode = r.exitCode;
  } else {
    await apply();
    // Wait for the reconciler to start it (an image pull or a dependency may take a while).
    for (;;) {
      const st = await phaseOf(ctx, name);
      if (st?.phase === "Running" || st?.phase === "Exited" || st?.phase === "Failed") break;
      await sleep(50);
    }
    if (o.detach) {
      ctx.stdout.write(`${name}\n`);
      return 0;
    }
    // Not interactive: the log from the start is the whole output, stdout and stderr apart.
    const out = byteSink(ctx.stdout);
    const err = byteSink(ctx.stderr);
    for await (const line of ctx.client.logs(name, { follow: true })) {
      const text = line.full ? `${line.text}\n` : line.text;
      await (line.stream === "stderr" ? err : out)(Buffer.from(text));
    }
  }
  for (let i = 0; exitCode === undefined && i < 200; i++) {
    const st = await phaseOf(ctx, name);
    if (st?.phase !== "Running" && st?.exitCode !== undefined) exitCode = st.exitCode;
    else await sleep(50);
  }
  if (o.rm) await ctx.client.delete("Container", name);
  return exitCode ?? 125;
}

/**
 * `run -i`/`-t` as `docker run -it` does it: the attach comes first — registered with the
 * daemon for the container's next start — then the apply, whose start connects it before the
 * process runs, so nothing it writes is missed (a shell's first prompt). The apply failing,
 * or the container failing for good before it ran, gives the attach up.
 */
async function attachedRun(ctx: CommandContext, name: string, o: RunOptions, apply: () => Promise<void>): Promise<{ exitCode?: number; detached: boolean }> {
  const giveUp = new AbortController();
  let onWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => (onWaiting = resolve));
  const attaching = attachStream(ctx, name, {
    tty: o.tty === true,
    interactive: o.interactive === true,
    detachKeys: o.detachKeys ?? DEFAULT_DETACH_KEYS,
    sigProxy: !o.tty,
    atStart: { onWaiting, signal: giveUp.signal },
  });
  let settled = false;
  const attached = attaching.finally(() => (settled = true));
  // The wait is registered (or the attach failed at once, which the await below throws).
  await Promise.race([waiting, attached]);
  try {
    await apply();
  } catch (err) {
    giveUp.abort(err);
    await attached.catch(() => {});
    throw err;
  }
  // Until it starts: a container that fails for good never runs, and nothing would end the wait.
  void (async () => {
    while (!settled) {
      const st = await phaseOf(ctx, name).catch(() => undefined);
      if (st?.phase === "Running" || st?.phase === "Exited") return;
      if (st?.phase === "Failed") {
        giveUp.abort(new UsageError(`run ${name}: ${st.message ?? st.reason ?? "the container failed before it started"}`));
        return;
      }
      await sleep(100);
    }
  })();
  try {
    return await attached;
  } catch (err) {
    if (giveUp.signal.aborted) throw giveUp.signal.reason;
    throw err;
  }
}

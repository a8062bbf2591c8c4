import { errorMessage, exitCodeOfKind, isBerthError } from "../../lib/errors.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { attachStream, DEFAULT_DETACH_KEYS, DETACHED_EXIT, runAttach } from "./attach.js";

/**
 * `berth stop|start|restart NAME...`: acts on each container in turn and prints its name,
 * as docker does. A failure is reported and the rest still run; the exit code is the
 * first failure's.
 */
export async function runLifecycle(ctx: CommandContext, action: "stop" | "start" | "restart", names: string[]): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      await ctx.client.act(name, action);
      ctx.stdout.write(`${name}\n`);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      ctx.stderr.write(`berth: ${errorMessage(err)}\n`);
      if (err.kind === "Unavailable") return exitCodeOfKind.Unavailable;
      if (code === 0) code = exitCodeOfKind[err.kind];
    }
  }
  return code;
}

/**
 * `berth start -a [-i] NAME` (docker start -a): attached before its process runs — the wait
 * for its next start registered first, then the start asked for — so nothing it prints is
 * missed; berth exits with its exit code, or 0 after the detach keys. A container already
 * running is attached to as `berth attach` does (its output from now on).
 */
export async function runStartAttached(ctx: CommandContext, names: string[], o: { interactive: boolean; detachKeys?: string | undefined }): Promise<number> {
  if (names.length !== 1) throw new UsageError("you cannot start and attach multiple containers at once");
  const name = names[0]!;
  const view = (await ctx.client.get("Container", name)) as { spec?: { tty?: boolean; stdin?: boolean }; status?: { phase?: string } };
  const tty = view.spec?.tty === true;
  const interactive = o.interactive && view.spec?.stdin === true;
  const detachKeys = o.detachKeys ?? DEFAULT_DETACH_KEYS;
  if (view.status?.phase === "Running") return runAttach(ctx, name, { detachKeys, stdin: interactive });
  const giveUp = new AbortController();
  let onWaiting!: () => void;
  const waiting = new Promise<void>((r) => (onWaiting = r));
  const attached = attachStream(ctx, name, { tty, interactive, detachKeys, sigProxy: !tty, atStart: { onWaiting, signal: giveUp.signal } });
  await Promise.race([waiting, attached]);
  try {
    await ctx.client.act(name, "start");
  } catch (err) {
    giveUp.abort(err);
    await attached.catch(() => {});
    throw err;
  }
  const r = await attached;
  if (r.detached) {
    ctx.stderr.write("read escape sequence\n");
    return DETACHED_EXIT;
  }
  if (r.exitCode !== undefined) return r.exitCode;
  const st = ((await ctx.client.get("Container", name)) as { status?: { exitCode?: number } }).status;
  return st?.exitCode ?? 0;
}

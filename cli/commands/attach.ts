import { Readable } from "node:stream";
import type { ExecStreamIo } from "../../controller/api/client.js";
import type { CommandContext, Output } from "../client.js";
import { UsageError } from "../errors.js";

/**
 * The local end of a terminal stream (`exec -t`, `attach`, `run -it`): raw mode on this
 * process's terminal for as long as the stream lasts (restored on every way out: the
 * stream's end, an error, a signal, process exit), the window size sent at start and on
 * each SIGWINCH, and Docker's detach keys recognized in what is typed.
 */

/** Docker's default detach sequence, Ctrl-P Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/**
 * `--detach-keys` as Docker reads it (moby/term ToBytes): comma-separated keys, each a single
 * character or `ctrl-<c>` with c one of a-z, @, [, \, ], ^, _. UsageError otherwise.
 */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const raw of spec.split(",")) {
    const key = raw.trim();
    const lower = key.toLowerCase();
    if (lower.startsWith("ctrl-") && key.length === 6) {
      const c = lower[5]!;
      if (c >= "a" && c <= "z") out.push(c.charCodeAt(0) - 96);
      else if ("@[\\]^_".includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw new UsageError(`invalid --detach-keys ${JSON.stringify(spec)}: ctrl-${c} is not a control key (a-z, @, [, \\, ], ^, _)`);
    } else if (key.length === 1 && key.charCodeAt(0) < 128) out.push(key.charCodeAt(0));
    else throw new UsageError(`invalid --detach-keys ${JSON.stringify(spec)}: ${JSON.stringify(key)} is not a key (a character or ctrl-<c>)`);
  }
  return Buffer.from(out);
}

/**
 * Watches input for the detach sequence (moby/term's EscapeProxy): bytes that may begin the
 * sequence are held back, and passed on once the next byte shows they do not; the whole
 * sequence is swallowed and reported.
 */
export class DetachMatcher {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to forward from `chunk`, and whether the sequence completed (what follows it is dropped). */
  push(chunk: Uint8Array): { forward: Buffer; detach: boolean } {
    const keys = this.keys;
    if (keys.length === 0) return { forward: Buffer.from(chunk), detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[this.matched]) {
        this.matched++;
        if (this.matched === keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      if (this.matched > 0) {
        out.push(...keys.subarray(0, this.matched));
        this.matched = 0;
        if (b === keys[0]) {
          this.matched = 1;
          if (keys.length === 1) return { forward: Buffer.from(out), detach: true };
          continue;
        }
      }
      out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

interface TtyIn {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}
interface TtyOut {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: "resize", fn: () => void): unknown;
  off?(event: "resize", fn: () => void): unknown;
}

/** The terminal's size, when `out` is one. */
export function terminalSize(out: Output): { cols: number; rows: number } | undefined {
  const o = out as unknown as TtyOut;
  return o.isTTY && o.columns && o.rows ? { cols: o.columns, rows: o.rows } : undefined;
}

export interface TerminalSession {
  /** What goes to the stream as stdin (detach keys taken out). */
  stdin?: AsyncIterable<Uint8Array>;
  /** For ExecStreamIo.control: sends the size now and on each resize. */
  control: NonNullable<ExecStreamIo["control"]>;
  /** Set once the detach keys were typed; `abort` is then called. */
  readonly detached: boolean;
  /** Restores the terminal and stops listening. Idempotent. */
  restore(): void;
}

/**
 * Sets up the local end. `raw`: put stdin's terminal in raw mode (with -t on a terminal).
 * `detachKeys`: recognized in stdin (empty: none); typing them calls `onDetach`.
 */
export function openTerminal(ctx: CommandContext, o: { raw: boolean; forwardStdin: boolean; detachKeys: Buffer; onDetach: () => void }): TerminalSession {
  const input = ctx.stdin as Readable & TtyIn;
  const out = ctx.stdout as unknown as TtyOut;
  let restored = false;
  let detached = false;
  const rawOn = o.raw && input.isTTY === true && typeof input.setRawMode === "function";
  const restore = () => {
    if (restored) return;
    restored = true;
    if (rawOn) {
      try {
        input.setRawMode!(false);
      } catch {
        /* the terminal is gone */
      }
    }
    if (onResize) out.off?.("resize", onResize);
    process.off("exit", restore);
  };
  if (rawOn) {
    input.setRawMode!(true);
    process.on("exit", restore);
  }
  let onResize: (() => void) | undefined;
  const matcher = new DetachMatcher(o.detachKeys);
  const stdin = o.forwardStdin
    ? (async function* () {
        for await (const chunk of input as AsyncIterable<Buffer>) {
          const { forward, detach } = matcher.push(chunk);
          if (forward.length) yield forward;
          if (detach) {
            detached = true;
            o.onDetach();
            return;
          }
        }
      })()
    : undefined;
  return {
    ...(stdin ? { stdin } : {}),
    control(send) {
      const size = terminalSize(ctx.stdout);
      if (size) send.resize(size);
      onResize = () => {
        const s = terminalSize(ctx.stdout);
        if (s) send.resize(s);
      };
      // Node turns SIGWINCH into stdout's `resize` event (and keeps its columns/rows current).
      if (!restored) out.on?.("resize", onResize);
    },
    get detached() {
      return detached;
    },
    restore,
  };
}

export interface AttachOptions {
  detachKeys?: string;
  /** Docker's --sig-proxy: default true; without a terminal, SIGINT/SIGTERM/... go to the container. */
  sigProxy?: boolean;
  /** --no-stdin */
  stdin?: boolean;
}

/**
 * An attach to the container's next start (`berth run`): `onWaiting` once the daemon has
 * registered the wait (a start asked for from then on connects it before the process runs);
 * `signal` gives up (the apply failed).
 */
export interface AtStart {
  onWaiting(): void;
  signal: AbortSignal;
}

/** Exit code when detached: Docker's client exits 0. */
export const DETACHED_EXIT = 0;

/** Signals --sig-proxy forwards (docker/cli ForwardAllSignals, the ones a terminal user sends). */
const PROXIED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/**
 * Attaches to a running container (`docker attach`): its output from now on, stdin when it
 * has `stdin: true`, a terminal when it has `tty: true` (raw mode here). Ctrl-P Ctrl-Q (or
 * `--detach-keys`) detaches and leaves it running (exit 0, "read escape sequence" as
 * Docker); otherwise berth exits with the container's exit code once it ended. With
 * --sig-proxy (default), signals berth receives are sent to the container's main process
 * (with a terminal Ctrl-C is just a byte, raw mode sends it through).
 */
export async function attachStream(ctx: CommandContext, name: string, o: AttachOptions & { tty: boolean; interactive: boolean; atStart?: AtStart }): Promise<{ exitCode?: number; detached: boolean }> {
  const detachKeys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  const ac = new AbortController();
  const session = openTerminal(ctx, { raw: o.tty, forwardStdin: o.interactive && o.stdin !== false, detachKeys, onDetach: () => ac.abort(new Error("detached")) });
  const proxies: [NodeJS.Signals, () => void][] = [];
  let client: { signal(name: string): void } | undefined;
  if (o.sigProxy !== false) {
    for (const sig of PROXIED) {
      const fn = () => client?.signal(sig);
      process.on(sig, fn);
      proxies.push([sig, fn]);
    }
  }
  try {
    const size = terminalSize(ctx.stdout);
    const exit = await ctx.client.attach(
      name,
      { ...(size ? { size } : {}), ...(o.atStart ? { atStart: true } : {}) },
      {
        ...(session.stdin ? { stdin: Readable.from(session.stdin) } : {}),
        stdout: byteSink(ctx.stdout),
        stderr: byteSink(ctx.stderr),
        control: (send) => {
          client = send;
          session.control(send);
        },
        ...(o.atStart ? { onAnswer: o.atStart.onWaiting } : {}),
      },
      o.atStart ? AbortSignal.any([ac.signal, o.atStart.signal]) : ac.signal,
    );
    return exit ? { exitCode: exit.exitCode, detached: false } : { detached: false };
  } catch (err) {
    if (session.detached) return { detached: true };
    throw err;
  } finally {
    session.restore();
    for (const [sig, fn] of proxies) process.off(sig, fn);
    if (session.stdin) ctx.stdin.destroy();
  }
}

/** Writes bytes to `out`, waiting while it is full. */
export function byteSink(out: Output): (chunk: Buffer) => Promise<void> {
  const w = out as unknown as { write(chunk: Uint8Array): boolean; once?(event: "drain" | "close", fn: () => void): unknown };
  return (chunk) =>
    w.write(chunk) !== false || !w.once
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          w.once!("drain", resolve);
          w.once!("close", resolve);
        });
}

/**
 * `berth attach NAME`: tty and stdin as the container has them (its spec), from its
 * object's view.
 */
export async function runAttach(ctx: CommandContext, name: string, o: AttachOptions): Promise<number> {
  const view = (await ctx.client.get("Container", name)) as { spec?: { tty?: boolean; stdin?: boolean } };
  const tty = view.spec?.tty === true;
  const interactive = view.spec?.stdin === true;
  const r = await attachStream(ctx, name, { ...o, tty, interactive });
  if (r.detached) {
    ctx.stderr.write("read escape sequence\n");
    return DETACHED_EXIT;
  }
  return r.exitCode ?? 0;
}

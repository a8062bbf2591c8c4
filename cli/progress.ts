/**
 * Waiting for objects to reach a condition (`apply --wait`, `berth wait`) and showing the
 * progress: on a terminal a compact table redrawn in place, otherwise one line per change.
 */
import type { ObjectView } from "../controller/api/protocol.js";
import { isBerthError } from "../lib/errors.js";
import { formatDuration } from "../lib/units.js";
import type { Kind } from "../schemas/kinds.js";
import type { CommandContext, Output } from "./client.js";
import { isContainerStatus, objectRef, readiness } from "./format-status.js";
import { paint } from "./style.js";
import { formatTable } from "./table.js";

/** `ready`: as apply --wait judges it; `healthy`/`running`: container states; `deleted`: gone. */
export type WaitCondition = "ready" | "healthy" | "running" | "deleted";
export const WAIT_CONDITIONS: WaitCondition[] = ["ready", "healthy", "running", "deleted"];

export interface WaitTarget {
  kind: Kind;
  name: string;
}

export interface ObjectState {
  /** `container/web` */
  ref: string;
  /** The condition holds. */
  done: boolean;
  /** The condition cannot hold without a change: stop waiting. */
  failed: boolean;
  state: string;
  message: string;
}

/** Whether `view` (undefined: the object does not exist) meets `condition`. Pure. */
export function evaluate(target: WaitTarget, view: ObjectView | undefined, condition: WaitCondition): ObjectState {
  const ref = objectRef(target.kind, target.name);
  if (condition === "deleted") return { ref, done: view === undefined, failed: false, state: view ? "exists" : "deleted", message: "" };
  if (!view) return { ref, done: false, failed: false, state: "NotFound", message: "" };
  const r = readiness(view);
  if (condition === "ready" || !isContainerStatus(view)) return { ref, done: r.ready, failed: r.failed, state: r.state, message: r.message };
  const s = view.status;
  const failed = s.phase === "Failed";
  if (condition === "running") return { ref, done: s.phase === "Running", failed, state: r.state, message: r.message };
  const state = s.phase === "Running" && s.health === "none" && !r.state.includes("(") ? "Running (no healthcheck)" : r.state;
  return { ref, done: s.phase === "Running" && s.health === "healthy", failed, state, message: r.message };
}

export interface WaitOptions {
  condition: WaitCondition;
  timeoutMs: number;
  /** Poll interval. Default 300ms. */
  pollMs?: number;
  /** A missing object (other than for `deleted`) is an error (kubectl wait) instead of a state to wait out. */
  notFoundIsError?: boolean;
  /** Called after every poll with every target's state, in target order. */
  onPoll?: (states: ObjectState[]) => void;
}

export interface WaitOutcome {
  outcome: "done" | "failed" | "timeout";
  states: ObjectState[];
}

/**
 * Polls `get` for every target until all meet the condition, one fails, or the timeout
 * passes. Errors other than NotFound (daemon gone, ...) are thrown. Between polls it waits
 * the poll interval or, sooner, for the daemon's next event about a target (a container
 * started, a health change): the wait ends as the last object gets ready, not up to an
 * interval later. Without the event stream it just polls.
 */
export async function waitFor(ctx: Pick<CommandContext, "client" | "clock">, targets: WaitTarget[], o: WaitOptions): Promise<WaitOutcome> {
  const deadline = ctx.clock.now() + o.timeoutMs;
  const pollMs = o.pollMs ?? 300;
  const waker = eventWaker(ctx, new Set(targets.map((t) => objectRef(t.kind, t.name))));
  try {
    return await pollUntil(ctx, targets, o, deadline, pollMs, waker);
  } finally {
    waker.close();
  }
}

/**
 * A container whose readiness is only "running" (no healthcheck) counts once it has run this
 * long: one that dies at once (a bad command, restart policy no) fails the wait instead of
 * passing it for having been seen running for a moment (Kubernetes' minReadySeconds, short).
 */
export const RUNNING_SETTLE_MS = 100;

async function pollUntil(ctx: Pick<CommandContext, "client" | "clock">, targets: WaitTarget[], o: WaitOptions, deadline: number, pollMs: number, waker: EventWaker): Promise<WaitOutcome> {
  for (;;) {
    let settleMs = 0;
    let settling = 0;
    const states = await Promise.all(
      targets.map(async (t) => {
        let view: ObjectView | undefined;
        try {
          view = await ctx.client.get(t.kind, t.name);
        } catch (err) {
          if (!isBerthError(err, "NotFound") || (o.notFoundIsError && o.condition !== "deleted")) throw err;
        }
        const s = evaluate(t, view, o.condition);
        const left = s.done && view ? runningSettleLeft(view, o.condition, ctx.clock.now()) : 0;
        if (left <= 0) return s;
        settleMs = Math.max(settleMs, left);
        settling++;
        return { ...s, done: false };
      }),
    );
    o.onPoll?.(states);
    if (states.every((s) => s.done)) return { outcome: "done", states };
    if (states.some((s) => s.failed)) return { outcome: "failed", states };
    const left = deadline - ctx.clock.now();
    if (left <= 0) return { outcome: "timeout", states };
    // Only settling is left: look again once it has run long enough (or an event says it ended).
    const onlySettling = settling > 0 && states.filter((s) => !s.done).length === settling;
    await waker.sleep(Math.min(onlySettling ? settleMs : pollMs, left));
  }
}

/** How long `view`, ready by "running" alone, must still run before it counts (0: it counts). */
function runningSettleLeft(view: ObjectView, condition: WaitCondition, now: number): number {
  if ((condition !== "ready" && condition !== "running") || !isContainerStatus(view)) return 0;
  const s = view.status;
  if (s.phase !== "Running" || s.health === "healthy") return 0;
  const started = s.startedAt ? Date.parse(s.startedAt) : NaN;
  return Number.isFinite(started) ? started + RUNNING_SETTLE_MS - now : 0;
}

interface EventWaker {
  /** Resolves after `ms`, or at the next event about a target (at once if one came since the last sleep). */
  sleep(ms: number): Promise<void>;
  close(): void;
}

/** Watches the daemon's events for those about `refs` (`container/web`); the past ones it replays first count as one. */
function eventWaker(ctx: Pick<CommandContext, "client" | "clock">, refs: Set<string>): EventWaker {
  const ac = new AbortController();
  let pending = false;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for await (const e of ctx.client.watchEvents(ac.signal)) {
        if (!refs.has(e.object)) continue;
        pending = true;
        wake?.();
      }
    } catch {
      /* no event stream (an older daemon, the fake): the polls go on */
    }
  })();
  return {
    sleep(ms) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const cancel = ctx.clock.setTimer(ms, () => {
          wake = undefined;
          resolve();
        });
        wake = () => {
          wake = undefined;
          pending = false;
          cancel();
          resolve();
        };
      });
    },
    close: () => ac.abort(),
  };
}

/** `container/web (Running (health: starting))`, for messages about what is not ready. */
export function describeStates(states: ObjectState[]): string {
  return states.map((s) => `${s.ref} (${s.message ? `${s.state}: ${s.message}` : s.state})`).join(", ");
}

export function timeoutMessage(states: ObjectState[], timeoutMs: number, condition: WaitCondition): string {
  const pending = states.filter((s) => !s.done);
  return `timed out after ${formatDuration(timeoutMs)} waiting for ${pending.length ? describeStates(pending) : "the objects"} to be ${condition}`;
}

export function failureMessage(s: ObjectState): string {
  return `${s.ref} failed${s.message ? `: ${s.message}` : ` (${s.state})`}`;
}

/**
 * The live view. On a terminal it redraws a table (OBJECT, STATE, MESSAGE) in place with
 * ANSI cursor-up, lines cut to the terminal width so wrapping cannot break the redraw;
 * otherwise it prints `container/web: Running (health: starting)` when an object's state changes.
 */
export class ProgressDisplay {
  private drawn = 0;
  private lastFrame = "";
  private readonly last = new Map<string, string>();

  constructor(private readonly out: Output) {}

  update(states: ObjectState[]): void {
    if (this.out.isTTY) return this.redraw(states);
    for (const s of states) {
      const line = `${s.ref}: ${s.state}${s.message ? ` (${s.message})` : ""}${s.done ? " ✓" : ""}`;
      if (this.last.get(s.ref) === line) continue;
      this.last.set(s.ref, line);
      this.out.write(`${line}\n`);
    }
  }

  private redraw(states: ObjectState[]): void {
    const c = paint(this.out);
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    const lines = formatTable(
      ["OBJECT", "STATE", "MESSAGE"],
      states.map((s) => [s.ref, s.done ? `${s.state} ✓` : s.state, s.message]),
    )
      .trimEnd()
      .split("\n")
      .map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    const frame = lines.join("\n");
    if (frame === this.lastFrame) return;
    this.lastFrame = frame;
    const colored = lines.map((l, i) => {
      if (i === 0) return c.bold(l);
      const s = states[i - 1]!;
      return s.done ? c.green(l) : s.failed ? c.red(l) : l;
    });
    const up = this.drawn ? `\u001b[${this.drawn}A\r\u001b[0J` : "";
    this.out.write(`${up}${colored.join("\n")}\n`);
    this.drawn = lines.length;
  }
}

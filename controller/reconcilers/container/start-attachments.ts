import { unavailable } from "../../../lib/errors.js";

/**
 * Attach clients waiting for a container's next start (`berth run -it`, `berth start -a`).
 * A client registers *before* the start is asked for — before the apply that creates the
 * container, for `run` — and is connected by the start itself, in the runtime's `beforeRun`
 * (the process exists, it has not run yet). It so sees the output from the first byte, a
 * shell's first prompt included: `docker run -it` attaches to the created container before
 * it starts it, for the same reason.
 *
 * Keyed by container name (what the client knows before the object exists); each waiter is
 * connected by one start, then forgotten. A waiter whose client goes cancels itself. Bounded:
 * requests are hostile until checked, and each waiter holds a connection.
 */
export interface StartAttachLimits {
  perName: number;
  total: number;
}

interface Waiter {
  connect(): Promise<unknown>;
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

export interface StartAttachRegistration<T> {
  /** Resolves with what `connect` returned, once a start ran it; rejects with its error. */
  attached: Promise<T>;
  /** Unregisters (the client went away); a no-op once connected. */
  cancel(): void;
}

export class StartAttachments {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(private readonly limits: StartAttachLimits = { perName: 8, total: 256 }) {}

  /**
   * Registers a waiter for the next start of `name`, synchronously: once this returns, a
   * start asked for afterwards connects it. Unavailable beyond the limits.
   */
  register<T>(name: string, connect: () => Promise<T>): StartAttachRegistration<T> {
    const set = this.waiting.get(name) ?? new Set<Waiter>();
    if (set.size >= this.limits.perName) throw unavailable(`attach to ${name}: ${this.limits.perName} clients already wait for its start`);
    if (this.count >= this.limits.total) throw unavailable(`attach to ${name}: ${this.limits.total} clients already wait for starts`);
    let waiter!: Waiter;
    const attached = new Promise<T>((resolve, reject) => {
      waiter = { connect, resolve: resolve as (v: unknown) => void, reject };
    });
    set.add(waiter);
    this.waiting.set(name, set);
    this.count++;
    return { attached, cancel: () => this.remove(name, waiter) };
  }

  /** How many wait for `name`'s start. */
  waiters(name: string): number {
    return this.waiting.get(name)?.size ?? 0;
  }

  /**
   * The runtime's `beforeRun` for a start of `name` when somebody waits for it, else
   * undefined (the start does not pause). Each waiter is connected once, all at the same
   * time; one failing does not fail the others, nor the start.
   */
  beforeRunOf(name: string): (() => Promise<void>) | undefined {
    const set = this.waiting.get(name);
    if (!set?.size) return undefined;
    return async () => {
      const taken = [...set];
      for (const w of taken) this.remove(name, w);
      await Promise.all(
        taken.map(async (w) => {
          try {
            w.resolve(await w.connect());
          } catch (err) {
            w.reject(err);
          }
        }),
      );
    };
  }

  private remove(name: string, w: Waiter): void {
    const set = this.waiting.get(name);
    if (!set?.delete(w)) return;
    this.count--;
    if (!set.size) this.waiting.delete(name);
  }
}

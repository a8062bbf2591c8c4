/**
 * User actions as data: `berth stop|start|restart` records an intent on the container's
 * status (flushed before the API answers, so an acknowledged stop survives a crash); the
 * container reconciler plans on it, carries it out and settles it. A caller may wait for its
 * intent to be settled.
 *
 * Contract: a newer intent for a key replaces an older one not carried out yet (the last
 * request wins, as two quick `docker stop; docker start` would end started); settling an
 * intent settles every older one of that key. `wait` resolves when settled, and also when
 * `signal` aborts or `timeoutMs` passes on the clock (the caller then reports the status it
 * finds); it never rejects.
 */
import type { Clock } from "../../../lib/clock.js";
import type { UserAction, UserIntent } from "../../store/status-records.js";
import type { StatusStore } from "../../store/status-store.js";

export class UserIntents {
  private seq = 0;
  private readonly waiters = new Map<string, { id: number; resolve: () => void }[]>();

  constructor(
    private readonly status: StatusStore,
    private readonly clock: Clock,
  ) {}

  /** Records `action` for `key` and persists it; returns the intent. */
  async record(key: string, action: UserAction): Promise<UserIntent> {
    const intent: UserIntent = { action, id: ++this.seq, atMs: this.clock.now() };
    this.status.update(key, "Container", (s) => void (s.intent = intent));
    await this.status.flush();
    return intent;
  }

  /** The intent carried out: removed from the status, its waiters (and older ones) released. */
  settle(key: string, intent: UserIntent): void {
    this.status.update(key, "Container", (s) => {
      if (s.intent && s.intent.id <= intent.id) delete s.intent;
    });
    this.release(key, intent.id);
  }

  /** Releases every waiter of `key` (the object is gone). */
  forget(key: string): void {
    this.release(key, Infinity);
  }

  wait(key: string, intent: UserIntent, signal: AbortSignal, timeoutMs: number): Promise<void> {
    // Settled already (a reconcile may carry it out while `record` flushes)?
    if (!this.status.get(key, "Container").intent) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.clock.setTimer(timeoutMs, done);
      const list = this.waiters.get(key) ?? [];
      const entry = { id: intent.id, resolve: done };
      list.push(entry);
      this.waiters.set(key, list);
      signal.addEventListener("abort", done, { once: true });
      if (signal.aborted) done();
      function done() {
        cancel();
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }

  private release(key: string, upToId: number) {
    const list = this.waiters.get(key);
    if (!list) return;
    const keep = list.filter((w) => w.id > upToId);
    for (const w of list) if (w.id <= upToId) w.resolve();
    if (keep.length) this.waiters.set(key, keep);
    else this.waiters.delete(key);
  }
}

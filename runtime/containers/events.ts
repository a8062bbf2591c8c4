import type { RuntimeEvent } from "../types.js";

/**
 * Fan-out of runtime events to any number of `events()` iterators. Each subscriber has its
 * own unbounded queue (events are rare: one per start/exit/remove); an iterator ends when
 * its signal aborts or the hub closes. Events published with no subscriber are dropped —
 * consumers reconcile from list()/inspect(), events only make them react sooner.
 */
export class EventHub {
  private subs = new Set<{ queue: RuntimeEvent[]; wake: () => void }>();
  private closed = false;

  publish(e: RuntimeEvent): void {
    for (const s of this.subs) {
      s.queue.push(e);
      s.wake();
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs) s.wake();
  }

  async *subscribe(signal?: AbortSignal): AsyncGenerator<RuntimeEvent> {
    const sub = { queue: [] as RuntimeEvent[], wake: () => {} };
    this.subs.add(sub);
    const onAbort = () => sub.wake();
    signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        while (sub.queue.length > 0) yield sub.queue.shift()!;
        if (this.closed || signal?.aborted) return;
        await new Promise<void>((resolve) => {
          sub.wake = resolve;
        });
        sub.wake = () => {};
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.subs.delete(sub);
    }
  }
}

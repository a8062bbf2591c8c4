import type { Clock } from "../../lib/clock.js";
import type { EventRecord } from "../api/protocol.js";

/**
 * The controller's event log: a bounded ring of recent events (newest last) and live
 * subscribers. `record` never blocks; a subscriber that falls `maxBacklog` events behind
 * is dropped (its iteration ends) rather than slowing the controller down.
 */
export class EventLog {
  private readonly ring: EventRecord[] = [];
  private seq = 0;
  private readonly subscribers = new Set<{ push: (e: EventRecord) => void; end: () => void }>();

  constructor(
    private readonly clock: Clock,
    private readonly capacity = 1000,
    private readonly maxBacklog = 10_000,
  ) {}

  record(type: EventRecord["type"], reason: string, object: string, message: string): EventRecord {
    const e: EventRecord = { seq: ++this.seq, time: new Date(this.clock.now()).toISOString(), type, reason, object, message };
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const s of this.subscribers) s.push(e);
    return e;
  }

  recent(filter?: (e: EventRecord) => boolean): EventRecord[] {
    return filter ? this.ring.filter(filter) : [...this.ring];
  }

  /** The recent events, then — with `watch` — every new one until `signal` aborts. */
  async *stream(options: { watch: boolean; signal: AbortSignal }): AsyncIterable<EventRecord> {
    const backlog: EventRecord[] = [...this.ring];
    let wake: (() => void) | undefined;
    let ended = false;
    const sub = {
      push: (e: EventRecord) => {
        if (backlog.length >= this.maxBacklog) return sub.end();
        backlog.push(e);
        wake?.();
      },
      end: () => {
        ended = true;
        this.subscribers.delete(sub);
        wake?.();
      },
    };
    if (options.watch) this.subscribers.add(sub);
    const onAbort = () => sub.end();
    options.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        while (backlog.length) yield backlog.shift()!;
        if (!options.watch || ended || options.signal.aborted) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      options.signal.removeEventListener("abort", onAbort);
      this.subscribers.delete(sub);
    }
  }
}

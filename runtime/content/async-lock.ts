/**
 * In-process mutual exclusion. `run(fn)` runs `fn` after every earlier `run` settled, in call
 * order; a throwing `fn` releases the lock. Cross-process exclusion is not provided: one berth
 * process owns a state root.
 */
export class AsyncLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {});
    return result;
  }
}

/** One AsyncLock per key; keys with nothing queued are forgotten. */
export class KeyedLock {
  private readonly locks = new Map<string, { lock: AsyncLock; users: number }>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.locks.get(key);
    if (!entry) {
      entry = { lock: new AsyncLock(), users: 0 };
      this.locks.set(key, entry);
    }
    entry.users++;
    try {
      return await entry.lock.run(fn);
    } finally {
      if (--entry.users === 0) this.locks.delete(key);
    }
  }
}

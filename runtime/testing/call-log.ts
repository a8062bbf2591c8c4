/**
 * The call log and fault injection every fake in runtime/testing shares.
 *
 * `calls` records each call of a fake's public methods, in order, with its arguments as
 * passed (not copied) and the fake clock's time. `failNext(method, error, {times})` makes
 * the next `times` calls of `method` (default 1) throw `error` after being recorded and
 * before any effect — a failure the real component could report at that point. A later
 * `failNext` of the same method replaces the pending one.
 */
export interface FakeCall<M extends string = string> {
  method: M;
  args: unknown[];
  /** The clock's time of the call (epoch ms). */
  at: number;
}

export class CallLog<M extends string> {
  readonly calls: FakeCall<M>[] = [];
  private readonly failures = new Map<M, { error: unknown; times: number }>();

  constructor(private readonly now: () => number) {}

  failNext(method: M, error: unknown, options: { times?: number } = {}): void {
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`failNext ${method}: times must be a positive integer`);
    this.failures.set(method, { error, times });
  }

  /** Records the call; throws the injected failure, if one is pending. */
  enter(method: M, args: unknown[]): void {
    this.calls.push({ method, args, at: this.now() });
    const f = this.failures.get(method);
    if (!f) return;
    if (--f.times <= 0) this.failures.delete(method);
    throw f.error;
  }
}

/**
 * `Promise.all` that waits for every promise to settle before it rejects with the first
 * failure (in argument order): when a step of a container operation fails, none of its
 * siblings is still running once the caller's lock is released.
 */
export async function settleAll<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }> {
  const results = await Promise.allSettled(values);
  for (const r of results) if (r.status === "rejected") throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [P in keyof T]: Awaited<T[P]> };
}

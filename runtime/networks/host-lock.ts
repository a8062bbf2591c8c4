/**
 * A host-wide lock around choosing a network's subnet and putting it on its bridge: two berth
 * daemons on two roots (berth's own test suites run several side by side) would otherwise
 * both see a block free and both take it, and the host would route one network's traffic
 * into the other. Inside the lock the address manager reads the host's routes (host-blocks.ts)
 * after every earlier holder's bridge has its address.
 *
 * The lock is an abstract unix socket (`\0berth-networks-host`, as lib/root-lock.ts): the
 * kernel releases it when its holder dies, however it dies. A waiter retries every 20 ms for
 * up to `timeoutMs`, then fails with Unavailable.
 */
import * as net from "node:net";
import { unavailable } from "../../lib/errors.js";

const NAME = "\0berth-networks-host";

export async function withHostNetworkLock<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let server: net.Server | undefined;
  while (!server) {
    const s = net.createServer((c) => c.destroy());
    const taken = await new Promise<boolean>((resolve) => {
      s.once("error", () => resolve(false));
      s.listen({ path: NAME, exclusive: true }, () => resolve(true));
    });
    if (taken) server = s;
    else {
      s.close();
      if (Date.now() > deadline) throw unavailable(`choose a network subnet: another berth daemon holds the host's network lock for more than ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  server.unref();
  try {
    return await fn();
  } finally {
    await new Promise<void>((r) => server!.close(() => r()));
  }
}

/**
 * Test fakes of the ControllerApi. `fakeApi(methods)` is an API whose every method the test
 * does not give rejects with NotImplemented — so a test names only the methods it uses, and
 * a method added to the interface needs no change to every fake.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { notImplemented } from "../../lib/errors.js";
import { ApiClient } from "./client.js";
import { ApiServer } from "./server.js";
import type { ControllerApi } from "./types.js";

export function fakeApi(methods: Partial<ControllerApi>, what = "fake"): ControllerApi {
  return new Proxy(methods, {
    get(target, key, receiver) {
      if (key in target) return Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== "string" || key === "then") return undefined;
      return () => Promise.reject(notImplemented(`${what}: ${key} is not in this test`));
    },
  }) as ControllerApi;
}

export interface ServedApi {
  /** The fresh temp directory the socket is in. */
  dir: string;
  socketPath: string;
  client: ApiClient;
  /** Stops the server and removes `dir`. */
  close(): Promise<void>;
}

/** `api` (made with the temp dir, when a function) served on a socket in a fresh temp dir, with a client of it. */
export async function serveApi(api: ControllerApi | ((dir: string) => ControllerApi), prefix = "berth-api-"): Promise<ServedApi> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const socketPath = path.join(dir, "berth.sock");
  const server = new ApiServer(typeof api === "function" ? api(dir) : api, { socketPath, logger: pino({ level: "silent" }) });
  await server.listen();
  return {
    dir,
    socketPath,
    client: new ApiClient(socketPath),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

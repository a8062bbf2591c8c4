import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ApiServer } from "./server.js";
import type { ControllerApi } from "./types.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Every mode the socket file had from its creation until the server settled, as seen by a
 * tight stat loop in another process (started before listen) and one in this process.
 */
async function modesWhileListening(server: ApiServer, socket: string): Promise<number[]> {
  const watcher = spawn(
    process.execPath,
    [
      "-e",
      `const fs = require("node:fs"); const seen = new Set(); let stop = false;
       process.stdin.on("data", () => (stop = true));
       console.log("ready");
       (function loop() {
         const end = Date.now() + 5;
         while (Date.now() < end) { try { seen.add(fs.statSync(process.argv[1]).mode & 0o7777); } catch {} }
         if (stop) { console.log(JSON.stringify([...seen])); process.exit(0); }
         setImmediate(loop);
       })();`,
      socket,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: watcher.stdout! })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe("ready");
  const seen = new Set<number>();
  let settled = false;
  const local = (async () => {
    while (!settled) {
      try {
        seen.add((await stat(socket)).mode & 0o7777);
      } catch {}
      await new Promise((r) => setImmediate(r));
    }
  })();
  const umask = process.umask(0);
  try {
    await server.listen();
    expect(process.umask()).toBe(0); // the server restored what it found
  } finally {
    process.umask(umask);
    settled = true;
  }
  await local;
  watcher.stdin!.end("stop\n");
  for (const m of JSON.parse((await lines.next()).value as string) as number[]) seen.add(m);
  seen.add(statSync(socket).mode & 0o7777);
  return [...seen];
}

describe("API socket mode", () => {
  it.each([
    ["the default 0660", {}, 0o660],
    ["0600 (no group)", { mode: 0o600 }, 0o600],
    ["0660 with the daemon's group", { mode: 0o660, gid: process.getgid!() }, 0o660],
  ])("is never wider than %s, even under umask 0", async (_what, options, final) => {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-sock-"));
    dirs.push(dir);
    const socket = path.join(dir, "berth.sock");
    const api = { version: () => ({ root: dir }) } as unknown as ControllerApi; // listen asks nothing else
    const server = new ApiServer(api, { socketPath: socket, logger: pino({ level: "silent" }), ...options });
    try {
      const modes = await modesWhileListening(server, socket);
      expect(modes.map((m) => m.toString(8))).toContain(final.toString(8));
      expect(modes.filter((m) => (m & ~final) !== 0).map((m) => m.toString(8))).toEqual([]);
      expect(statSync(socket).mode & 0o777).toBe(final);
      if ("gid" in options) expect(statSync(socket).gid).toBe(options.gid);
    } finally {
      await server.close();
    }
  });
});

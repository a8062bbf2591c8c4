import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startDaemon } from "./daemon.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("startDaemon", () => {
  it.each(["/run", "/tmp", "/", "/var/run/"])("refuses the shared directory %s as its run-root before touching anything", async (runRoot) => {
    const base = mkdtempSync(path.join(tmpdir(), "berth-daemon-"));
    dirs.push(base);
    const root = path.join(base, "root");
    await expect(startDaemon({ root, runRoot, logger: pino({ level: "silent" }), version: "test" })).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: `start daemon: run-root ${runRoot} is shared with the rest of the host; give berth a directory of its own (e.g. /run/berth)`,
    });
    expect(existsSync(root)).toBe(false);
  });
});

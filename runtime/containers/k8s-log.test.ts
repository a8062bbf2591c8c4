import { appendFile, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogLine } from "../types.js";
import { formatLogLine, keepRotated, logFiles, parseLogLine, parseRfc3339, readLogs } from "./k8s-log.js";

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l.text);
  return out;
}

const line = (sec: number, text: string, stream: "stdout" | "stderr" = "stdout", full = true) =>
  formatLogLine({ time: `2024-05-01T10:00:${String(sec).padStart(2, "0")}.123456789+02:00`, stream, full, text });

describe("k8s-file parsing", () => {
  it.each([
    ["2024-05-01T10:00:00.123456789+02:00 stdout F hello world", { stream: "stdout", full: true, text: "hello world" }],
    ["2024-05-01T10:00:00.1Z stderr P part", { stream: "stderr", full: false, text: "part" }],
    ["2024-05-01T10:00:00Z stdout F ", { stream: "stdout", full: true, text: "" }],
    ["2024-05-01T10:00:00Z stdout F  two  spaces ", { stream: "stdout", full: true, text: " two  spaces " }],
  ])("%j", (text, want) => {
    expect(parseLogLine(text)).toMatchObject(want);
  });
  it.each(["", "garbage", "2024-05-01T10:00:00Z stdin F x", "yesterday stdout F x", "2024-05-01T10:00:00Z stdout X x"])("rejects %j", (t) => {
    expect(parseLogLine(t)).toBeUndefined();
  });
  it("parses RFC 3339 with nanoseconds and offsets", () => {
    expect(parseRfc3339("2024-05-01T10:00:00.123456789+02:00")).toBe(Date.UTC(2024, 4, 1, 8, 0, 0, 123));
    expect(parseRfc3339("2024-05-01T10:00:00-01:30")).toBe(Date.UTC(2024, 4, 1, 11, 30, 0, 0));
    expect(parseRfc3339("2024-05-01 10:00:00")).toBeNaN();
  });
});

describe("reading, tail, since, rotation", () => {
  let dir: string;
  let log: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "berth-log-"));
    log = path.join(dir, "ctr.log");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads all, tail and since", async () => {
    await writeFile(log, line(1, "a") + line(2, "b", "stderr") + "corrupt\n" + line(3, "c"));
    expect(await collect(readLogs(log))).toEqual(["a", "b", "c"]);
    expect(await collect(readLogs(log, { tail: 2 }))).toEqual(["b", "c"]);
    expect(await collect(readLogs(log, { tail: 0 }))).toEqual([]);
    expect(await collect(readLogs(log, { since: Date.UTC(2024, 4, 1, 8, 0, 2) }))).toEqual(["b", "c"]);
    expect(await collect(readLogs(path.join(dir, "missing.log")))).toEqual([]);
  });

  it("keeps the previous generation when conmon replaces the file", async () => {
    await writeFile(log, line(1, "gen1-a"));
    await keepRotated(log); // link now holds gen1's inode
    await appendFile(log, line(2, "gen1-b")); // written after linking: still kept
    // conmon's rotation: new file renamed over the path.
    await writeFile(`${log}.tmp`, line(3, "gen2-a"));
    await rename(`${log}.tmp`, log);
    expect(await logFiles(log)).toEqual([`${log}.link`, log]);
    expect(await collect(readLogs(log))).toEqual(["gen1-a", "gen1-b", "gen2-a"]);
    expect(await readFile(`${log}.1`, "utf8")).toContain("gen1-b");
    expect((await stat(`${log}.link`)).ino).toBe((await stat(log)).ino);
    // Next rotation drops gen1.
    await writeFile(`${log}.tmp`, line(4, "gen3-a"));
    await rename(`${log}.tmp`, log);
    await keepRotated(log);
    expect(await collect(readLogs(log))).toEqual(["gen2-a", "gen3-a"]);
    await keepRotated(log); // idempotent
    expect(await collect(readLogs(log))).toEqual(["gen2-a", "gen3-a"]);
  });

  it("follows appends and rotation until the container stops", async () => {
    await writeFile(log, line(1, "first"));
    let running = true;
    const got: string[] = [];
    const follower = (async () => {
      for await (const l of readLogs(log, { follow: true, pollMs: 10, isRunning: async () => running })) got.push(l.text);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await appendFile(log, line(2, "second") + "2024-05-01T10:00:03Z stdout F par");
    await new Promise((r) => setTimeout(r, 50));
    await appendFile(log, "tial\n");
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(`${log}.tmp`, line(4, "rotated"));
    await rename(`${log}.tmp`, log);
    await new Promise((r) => setTimeout(r, 50));
    running = false;
    await appendFile(log, line(5, "last"));
    await follower;
    expect(got).toEqual(["first", "second", "partial", "rotated", "last"]);
  });

  it("follow stops on abort", async () => {
    await writeFile(log, line(1, "x"));
    const ac = new AbortController();
    const p = collect(readLogs(log, { follow: true, pollMs: 10, isRunning: async () => true, signal: ac.signal }));
    setTimeout(() => ac.abort(), 50);
    expect(await p).toEqual(["x"]);
  });
});

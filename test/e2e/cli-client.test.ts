/**
 * The daemon-client commands through the built CLI (`node dist/cli/main.js`): argument
 * parsing, global --socket, exit codes and Ctrl-C, against a fake controller served by the
 * real API server on a temp socket.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerView, startHarness, type Harness } from "../../cli/testing.js";
import { BERTH, berth } from "../helpers/cli.js";

describe("berth client commands (built CLI)", () => {
  let h: Harness;
  let socket: string;
  beforeAll(async () => {
    h = await startHarness();
    socket = path.join(h.dir, "berth.sock");
    h.fake.put(containerView("web", { health: "healthy", startedAt: new Date().toISOString() }));
  });
  afterAll(() => h.close());

  it("has help with examples for every command", async () => {
    for (const cmd of ["apply", "diff", "get", "describe", "delete", "logs", "exec", "events", "wait", "stop", "start", "restart"]) {
      const r = await berth([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain("Examples:");
    }
  });

  it("finds the socket under --run-root, or at --socket / BERTH_SOCKET", async () => {
    expect((await berth(["--run-root", h.dir, "get", "ctr", "-o", "name"])).stdout).toBe("container/web\n");
    expect((await berth(["get", "ctr", "web", "-o", "name", "--socket", socket])).stdout).toBe("container/web\n");
    expect((await berth(["get", "ctr", "-o", "name"], { env: { BERTH_SOCKET: socket } })).stdout).toBe("container/web\n");
    const down = await berth(["get", "--socket", path.join(h.dir, "none.sock")]);
    expect(down).toMatchObject({ code: 6, stdout: "" });
    expect(down.stderr).toMatch(/^berth: connect .*none\.sock: no berth daemon is listening; start one with `berth daemon`/);
  });

  it("maps errors to exit codes with one line each", async () => {
    expect(await berth(["--socket", socket, "get", "ctr", "nope"])).toEqual({ code: 3, stdout: "", stderr: "berth: get container nope: not found\n" });
    const typo = await berth(["--socket", socket, "get", "contaner"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^berth: unknown kind "contaner"; did you mean "container"\?/);
  });

  it("applies and prints the changes", async () => {
    const file = path.join(h.dir, "web.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: busybox\n");
    h.fake.applyResponse = (req) => ({ dryRun: !!req.dryRun, diagnostics: [], changes: [{ kind: "Container", name: "web", action: "configured" }] });
    expect(await berth(["--socket", socket, "apply", "-f", file, "--dry-run"])).toEqual({ code: 0, stdout: "container/web configured (dry run)\n", stderr: "" });
    expect(h.fake.applied.at(-1)).toMatchObject({ stack: "web", dryRun: true });
  });

  it("passes exec's exit code through, with options after the name and the command after --", async () => {
    h.fake.execResult = { exitCode: 7, stdout: "hi\n", stderr: "", timedOut: false };
    expect(await berth(["--socket", socket, "exec", "web", "-e", "A=1", "--", "sh", "-c", "echo hi; exit 7"])).toEqual({ code: 7, stdout: "hi\n", stderr: "" });
    expect(h.fake.execs.at(-1)).toEqual({ name: "web", req: { argv: ["sh", "-c", "echo hi; exit 7"], env: { A: "1" } } });
    await berth(["--socket", socket, "exec", "web", "ls", "-la", "/tmp"]);
    expect(h.fake.execs.at(-1)!.req.argv).toEqual(["ls", "-la", "/tmp"]);
  });

  it("ends logs -f on Ctrl-C with exit 0", async () => {
    h.fake.logLines = [{ time: "t", stream: "stdout", full: true, text: "ready" }];
    const child = spawn(process.execPath, [BERTH, "--socket", socket, "logs", "-f", "web"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    await expect.poll(() => out, { timeout: 10_000 }).toBe("ready\n");
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect({ code, err }).toEqual({ code: 0, err: "" });
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../testing.js";
import { parseEnv, runExec } from "./exec.js";

describe("berth exec", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it("prints the output and passes the exit code through", async () => {
    h.fake.execResult = { exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false };
    expect(await runExec(h.ctx, "web", ["sh", "-c", "exit 3"], { env: ["A=1", "B=x=y"], user: "nobody", workdir: "/tmp", timeout: "10s" })).toBe(3);
    expect(h.stdout.text).toBe("out\n");
    expect(h.stderr.text).toBe("err\n");
    expect(h.fake.execs[0]).toEqual({ name: "web", req: { argv: ["sh", "-c", "exit 3"], env: { A: "1", B: "x=y" }, user: "nobody", workingDir: "/tmp", timeoutMs: 10_000 } });
  });

  it("exits 124 with a message when the command timed out", async () => {
    h.fake.execResult = { exitCode: 137, stdout: "", stderr: "", timedOut: true };
    expect(await runExec(h.ctx, "web", ["sleep", "100"], { env: [], timeout: "1s" })).toBe(124);
    expect(h.stderr.text).toBe("berth: exec in web: sleep timed out after 1s\n");
  });

  it("a command that cannot be started: one line with the reason, and its exit code", async () => {
    const notFound = { exitCode: 127, stdout: "", stderr: "", timedOut: false, startError: 'exec: "nosuch": executable file not found in $PATH' };
    h.fake.execResult = notFound;
    expect(await runExec(h.ctx, "web", ["nosuch"], { env: [] })).toBe(127);
    expect(h.stdout.text).toBe("");
    expect(h.stderr.text).toBe('berth: exec: "nosuch": executable file not found in $PATH\n');
  });

  it("parses --env like docker", () => {
    expect(parseEnv(["A=1", "HOME", "UNSET"], { HOME: "/root" })).toEqual({ A: "1", HOME: "/root" });
    expect(() => parseEnv(["1A=x"])).toThrow(/invalid --env/);
  });
});

import { createHash } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ContainerCreateSpec, ContainerState, ContainerStatus, ExecExit, ExecStream, LogLine, RuntimeEvent } from "../types.js";
import { testSpec } from "../testing/create-spec.js";
import { behaviorCommand, type Behavior, type ExecBehavior } from "./behaviors.js";
import { byteRamp, execStreamCommand, MISSING_COMMAND, NOT_EXECUTABLE } from "./exec-stream-behaviors.js";
import type { SuiteHarness } from "./types.js";

/**
 * (Over 400 lines on purpose: it is one suite of the whole ContainerRuntime interface, a
 * `describe` per method group sharing one harness and spec builder, so that each
 * implementation runs all of it with one call.)
 *
 * The ContainerRuntime conformance suite (the containerd `testsuite` pattern): the same
 * tests against the fake (runtime/testing, unit project) and conmon + runc (integration
 * project). Containers run Behaviors (behaviors.ts): a busybox script for the real runtime,
 * the same intent acted out by the fake. Time passes only through `harness.pass`, so the
 * fake runs on a ManualClock; bounds are generous for the real one. Errors are checked by
 * `kind`, never by message.
 *
 * Every container carries SUITE_LABEL; afterEach force-removes them, then calls `cleanup`.
 */

export const SUITE_LABEL = "berth.conformance";

const STEP_MS = 20;

/** Lets time pass until `p` settles (at most `limitMs` of runtime time); its value and how long it took. */
async function during<T>(h: SuiteHarness, p: Promise<T>, limitMs = 20_000): Promise<{ value: T; elapsedMs: number }> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  const t0 = h.clock.now();
  while (!settled) {
    if (h.clock.now() - t0 > limitMs) throw new Error(`not settled within ${limitMs}ms`);
    await h.pass(STEP_MS);
  }
  return { value: await p, elapsedMs: h.clock.now() - t0 };
}

/** Lets time pass until `cond` holds (at most `limitMs`). */
async function until(h: SuiteHarness, what: string, cond: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const t0 = h.clock.now();
  while (!(await cond())) {
    if (h.clock.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs}ms`);
    await h.pass(STEP_MS);
  }
}

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

async function texts(h: SuiteHarness, name: string): Promise<string[]> {
  return (await collect(h.runtime.logs(name))).map((l) => l.text);
}

async function statusIs(h: SuiteHarness, name: string, status: ContainerStatus): Promise<ContainerState> {
  let s: ContainerState | undefined;
  await until(h, `${name} ${status}`, async () => (s = await h.runtime.inspect(name)).status === status);
  return s!;
}

/** Waits until the container printed `text` (a serve behaviour's "ready": its traps are set). */
async function printed(h: SuiteHarness, name: string, text = "ready"): Promise<void> {
  await until(h, `${name} printed ${text}`, async () => (await texts(h, name)).includes(text));
}

function execOf(b: Omit<ExecBehavior, "kind">): { argv: string[] } {
  return { argv: behaviorCommand({ kind: "exec", ...b }) };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Both streams read to their end (concurrently, as the contract asks), then the exit. */
async function drain(s: ExecStream): Promise<{ out: Buffer; err: Buffer; exit: ExecExit }> {
  const bytes = async (r: Readable) => {
    const parts: Buffer[] = [];
    for await (const c of r as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts);
  };
  const [out, err] = await Promise.all([bytes(s.stdout), bytes(s.stderr)]);
  return { out, err, exit: await s.exit };
}

export function containerRuntimeSuite(name: string, open: () => Promise<SuiteHarness>): void {
  describe(`ContainerRuntime conformance: ${name}`, () => {
    let h: SuiteHarness;

    const spec = (n: string, behavior: Behavior, over: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec =>
      testSpec(n, { image: h.image, command: behaviorCommand(behavior), ...over, labels: { [SUITE_LABEL]: "1", ...(over.labels ?? {}) } });
    const run = async (n: string, behavior: Behavior, over: Partial<ContainerCreateSpec> = {}) => {
      await h.runtime.create(spec(n, behavior, over));
      return h.runtime.start(n);
    };
    const serve = (traps: Record<string, { exitCode: number; say?: string }> = {}): Behavior => ({ kind: "serve", traps });

    beforeEach(async () => {
      h = await open();
    });

    afterEach(async () => {
      try {
        for (const c of await h.runtime.list({ [SUITE_LABEL]: "1" })) await h.runtime.remove(c.id, { force: true });
      } finally {
        await h.cleanup();
      }
    });

    describe("create and inspect", () => {
      it("creates without starting: a 64-hex id, the spec's name, labels and image, no process facts", async () => {
        const s = await h.runtime.create(spec("c-new", serve(), { labels: { role: "web" } }));
        expect(s).toMatchObject({ name: "c-new", image: h.image, status: "created", oomKilled: false, labels: { [SUITE_LABEL]: "1", role: "web" } });
        expect(s.id).toMatch(/^[a-f0-9]{64}$/);
        expect(s.imageDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
        expect(Number.isNaN(Date.parse(s.createdAt))).toBe(false);
        expect(s.pid).toBeUndefined();
        expect(s.exitCode).toBeUndefined();
        expect(s.startedAt).toBeUndefined();
        expect(s.finishedAt).toBeUndefined();
        expect(await h.runtime.inspect(s.id)).toEqual(s);
        expect(await h.runtime.inspect("c-new")).toEqual(s);
        expect(await h.runtime.inspect(s.id.slice(0, 12))).toEqual(s);
      });

      it("refuses a taken name (AlreadyExists), a bad name or no command (InvalidArgument), a missing image (NotFound)", async () => {
        await h.runtime.create(spec("c-dup", serve()));
        await expect(h.runtime.create(spec("c-dup", serve()))).rejects.toMatchObject({ kind: "AlreadyExists" });
        await expect(h.runtime.create(spec("Bad_Name", serve()))).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expect(h.runtime.create(spec("c-nocmd", serve(), { command: [], args: [] }))).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expect(h.runtime.create(spec("c-badsig", serve(), { stopSignal: "SIGNOPE" }))).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expect(h.runtime.create(spec("c-noimg", serve(), { image: "localhost/no-such-image:1" }))).rejects.toMatchObject({ kind: "NotFound" });
        expect((await h.runtime.list({ [SUITE_LABEL]: "1" })).map((c) => c.name)).toEqual(["c-dup"]);
      });

      it("NotFound for every operation on a missing container", async () => {
        const missing = "c-missing";
        await expect(h.runtime.inspect(missing)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.start(missing)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.stop(missing)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.kill(missing, "SIGKILL")).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.exec(missing, { argv: ["true"] })).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.remove(missing)).rejects.toMatchObject({ kind: "NotFound" });
        await expect(collect(h.runtime.logs(missing))).rejects.toMatchObject({ kind: "NotFound" });
        await expect(h.runtime.inspect("0".repeat(64))).rejects.toMatchObject({ kind: "NotFound" });
      });

      it("lists by labels: every given label must match", async () => {
        await h.runtime.create(spec("c-a1", serve(), { labels: { stack: "a", role: "web" } }));
        await h.runtime.create(spec("c-a2", serve(), { labels: { stack: "a", role: "db" } }));
        await h.runtime.create(spec("c-b1", serve(), { labels: { stack: "b" } }));
        const names = async (labels: Record<string, string>) => (await h.runtime.list(labels)).map((c) => c.name).sort();
        expect(await names({ [SUITE_LABEL]: "1", stack: "a" })).toEqual(["c-a1", "c-a2"]);
        expect(await names({ [SUITE_LABEL]: "1", stack: "a", role: "db" })).toEqual(["c-a2"]);
        expect(await names({ [SUITE_LABEL]: "1", stack: "c" })).toEqual([]);
        expect(await names({ [SUITE_LABEL]: "1" })).toEqual(["c-a1", "c-a2", "c-b1"]);
      });
    });

    describe("start", () => {
      it("starts: running with a pid and startedAt; starting again is a no-op", async () => {
        await h.runtime.create(spec("c-run", serve()));
        const s = await h.runtime.start("c-run");
        expect(s.status).toBe("running");
        expect(s.pid).toBeGreaterThan(0);
        expect(Number.isNaN(Date.parse(s.startedAt!))).toBe(false);
        const again = await h.runtime.start("c-run");
        expect(again).toMatchObject({ status: "running", pid: s.pid, startedAt: s.startedAt });
      });

      it("reports a process's own exit (code, finishedAt); a start after it runs again with a new pid and no exit facts", async () => {
        const first = await run("c-job", { kind: "exit", code: 3, afterMs: 300, stdout: ["hello"] });
        const exited = await statusIs(h, "c-job", "exited");
        expect(exited).toMatchObject({ exitCode: 3, oomKilled: false });
        expect(exited.pid).toBeUndefined();
        expect(Date.parse(exited.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(first.startedAt!));
        expect(exited.reason).toBeUndefined();
        const again = await h.runtime.start("c-job");
        expect(again.status).toBe("running");
        expect(again.pid).toBeGreaterThan(0);
        expect(again.pid).not.toBe(first.pid);
        expect(again.exitCode).toBeUndefined();
        expect(again.finishedAt).toBeUndefined();
        expect(Date.parse(again.startedAt!)).toBeGreaterThanOrEqual(Date.parse(first.startedAt!));
        expect((await statusIs(h, "c-job", "exited")).exitCode).toBe(3);
        expect(await texts(h, "c-job")).toEqual(["hello", "hello"]);
      });
    });

    describe("stop", () => {
      it("sends the stop signal and returns once the process exited, without waiting out the grace period", async () => {
        await run("c-polite", serve({ SIGTERM: { exitCode: 0, say: "bye" } }), { stopGracePeriodMs: 20_000 });
        await printed(h, "c-polite");
        const { value, elapsedMs } = await during(h, h.runtime.stop("c-polite"));
        expect(value).toMatchObject({ status: "exited", exitCode: 0 });
        expect(elapsedMs).toBeLessThan(5000);
        expect(await texts(h, "c-polite")).toContain("bye");
      });

      it("SIGKILLs a process that ignores the stop signal once the grace period passed (exit 137)", async () => {
        await run("c-stubborn", serve());
        await printed(h, "c-stubborn");
        const { value, elapsedMs } = await during(h, h.runtime.stop("c-stubborn", { graceMs: 1500 }));
        expect(value).toMatchObject({ status: "exited", exitCode: 137 });
        expect(elapsedMs).toBeGreaterThanOrEqual(1500);
        expect(elapsedMs).toBeLessThan(9500);
      });

      it("uses a custom stop signal: from the options, or from the spec", async () => {
        const traps = { SIGUSR1: { exitCode: 10 } };
        await run("c-usr1", serve(traps));
        await run("c-spec-usr1", serve(traps), { stopSignal: "SIGUSR1", stopGracePeriodMs: 20_000 });
        await printed(h, "c-usr1");
        await printed(h, "c-spec-usr1");
        const byOption = await during(h, h.runtime.stop("c-usr1", { stopSignal: "USR1", graceMs: 20_000 }));
        expect(byOption.value.exitCode).toBe(10);
        expect(byOption.elapsedMs).toBeLessThan(5000);
        const bySpec = await during(h, h.runtime.stop("c-spec-usr1"));
        expect(bySpec.value.exitCode).toBe(10);
        expect(bySpec.elapsedMs).toBeLessThan(5000);
      });

      it("kills at once with a zero grace period, even a process that traps the stop signal", async () => {
        await run("c-zero", serve({ SIGTERM: { exitCode: 0 } }));
        await printed(h, "c-zero");
        const { value } = await during(h, h.runtime.stop("c-zero", { graceMs: 0 }));
        expect(value.exitCode).toBe(137);
      });

      it("is a no-op when not running (created, or already stopped); a bad signal is InvalidArgument", async () => {
        await h.runtime.create(spec("c-idle", serve()));
        expect((await h.runtime.stop("c-idle")).status).toBe("created");
        await run("c-twice", serve({ SIGTERM: { exitCode: 0 } }));
        await printed(h, "c-twice");
        await expect(h.runtime.stop("c-twice", { stopSignal: "SIGNOPE" })).rejects.toMatchObject({ kind: "InvalidArgument" });
        const first = (await during(h, h.runtime.stop("c-twice"))).value;
        const second = await h.runtime.stop("c-twice");
        expect(second).toEqual(first);
      });

      it("an aborted stop rejects with the signal's reason at once and abandons the SIGKILL", async () => {
        await run("c-abort", serve());
        await printed(h, "c-abort");
        const ac = new AbortController();
        const reason = new Error("daemon shutting down");
        const stopping = h.runtime.stop("c-abort", { graceMs: 1000, signal: ac.signal });
        await h.pass(200);
        ac.abort(reason);
        const outcome = await during(h, stopping.then(() => "resolved", (err: unknown) => err), 500);
        expect(outcome.value).toBe(reason);
        // Past the grace period: no SIGKILL came.
        await h.pass(2000);
        expect((await h.runtime.inspect("c-abort")).status).toBe("running");
      });

      it("an already aborted signal rejects before anything is sent", async () => {
        await run("c-preabort", serve({ SIGTERM: { exitCode: 0 } }));
        await printed(h, "c-preabort");
        const reason = new Error("too late");
        await expect(h.runtime.stop("c-preabort", { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        await h.pass(500);
        expect((await h.runtime.inspect("c-preabort")).status).toBe("running");
      });
    });

    describe("kill and remove", () => {
      it("kill delivers a signal (a trapped one ends the process with its code; SIGKILL: 137)", async () => {
        await run("c-trap", serve({ SIGUSR1: { exitCode: 10 } }));
        await run("c-kill", serve());
        await printed(h, "c-trap");
        await printed(h, "c-kill");
        await h.runtime.kill("c-trap", "SIGUSR1");
        await h.runtime.kill("c-kill", "KILL");
        expect((await statusIs(h, "c-trap", "exited")).exitCode).toBe(10);
        expect((await statusIs(h, "c-kill", "exited")).exitCode).toBe(137);
        await expect(h.runtime.kill("c-kill", "SIGKILL")).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await expect(h.runtime.kill("c-kill", "SIGNOPE")).rejects.toMatchObject({ kind: "InvalidArgument" });
      });

      it("remove: FailedPrecondition while running, force kills first; force of a missing one is a no-op; the name is free again", async () => {
        await run("c-rm", serve());
        await expect(h.runtime.remove("c-rm")).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await h.runtime.remove("c-rm", { force: true });
        await expect(h.runtime.inspect("c-rm")).rejects.toMatchObject({ kind: "NotFound" });
        await h.runtime.remove("c-rm", { force: true });
        await expect(h.runtime.remove("c-rm")).rejects.toMatchObject({ kind: "NotFound" });
        await h.runtime.create(spec("c-rm", { kind: "exit", code: 0 }));
        await h.runtime.remove("c-rm");
        expect(await h.runtime.list({ [SUITE_LABEL]: "1" })).toEqual([]);
      });

      it("holds named volumes while the container exists (the volume store refuses to remove them)", async ({ skip }) => {
        if (!h.volumes) return skip();
        const volume = "conformance-data";
        await h.runtime.create(spec("c-vol", { kind: "exit", code: 0 }, { mounts: [{ type: "volume", source: volume, target: "/data", readOnly: false }] }));
        await expect(h.volumes.remove(volume)).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await h.runtime.remove("c-vol");
        await h.volumes.remove(volume);
        await expect(h.volumes.inspect(volume)).rejects.toMatchObject({ kind: "NotFound" });
      });
    });

    describe("exec", () => {
      it("returns exit code, stdout and stderr; caps output", async () => {
        await run("c-exec", serve());
        await printed(h, "c-exec");
        const r = await during(h, h.runtime.exec("c-exec", execOf({ stdout: "out\n", stderr: "err\n", exitCode: 3 })));
        expect(r.value).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false });
        const capped = await during(h, h.runtime.exec("c-exec", { ...execOf({ stdout: "x".repeat(5000) }), maxOutputBytes: 1000 }));
        expect(capped.value.stdout).toBe("x".repeat(1000));
        expect(capped.value.exitCode).toBe(0);
      });

      it("kills an exec that outlives its timeout and says so", async () => {
        await run("c-slow", serve());
        await printed(h, "c-slow");
        const { value, elapsedMs } = await during(h, h.runtime.exec("c-slow", { ...execOf({ sleepMs: 30_000 }), timeoutMs: 500 }));
        expect(value.timedOut).toBe(true);
        expect(value.exitCode).not.toBe(0);
        expect(elapsedMs).toBeGreaterThanOrEqual(500);
        expect(elapsedMs).toBeLessThan(5000);
      });

      it("FailedPrecondition unless running; InvalidArgument for an empty argv", async () => {
        await h.runtime.create(spec("c-noexec", serve()));
        await expect(h.runtime.exec("c-noexec", { argv: ["true"] })).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await h.runtime.start("c-noexec");
        await expect(h.runtime.exec("c-noexec", { argv: [] })).rejects.toMatchObject({ kind: "InvalidArgument" });
      });
    });

    describe("execStream", () => {
      const started = async (n: string) => {
        await run(n, serve());
        await printed(h, n);
      };

      it("streams binary output over 1 MiB byte for byte (no cap, no decoding), stdout and stderr apart", async () => {
        await started("c-bytes");
        const big = await during(h, h.runtime.execStream("c-bytes", { argv: execStreamCommand({ kind: "bytes", repeat: 8192, stream: "stdout" }) }).then(drain));
        expect(big.value.out.length).toBe(2 * 1024 * 1024);
        expect(sha256(big.value.out)).toBe(sha256(byteRamp(8192)));
        expect(big.value.err.length).toBe(0);
        expect(big.value.exit).toEqual({ exitCode: 0, timedOut: false });
        const onErr = await during(h, h.runtime.execStream("c-bytes", { argv: execStreamCommand({ kind: "bytes", repeat: 4200, stream: "stderr" }) }).then(drain));
        expect(onErr.value.out.length).toBe(0);
        expect(sha256(onErr.value.err)).toBe(sha256(byteRamp(4200)));
      });

      it("keeps stdout and stderr apart and reports the exit code", async () => {
        await started("c-split");
        const r = await during(h, h.runtime.execStream("c-split", execOf({ stdout: "out\n", stderr: "err\n", exitCode: 3 })).then(drain));
        expect(r.value.out.toString()).toBe("out\n");
        expect(r.value.err.toString()).toBe("err\n");
        expect(r.value.exit).toEqual({ exitCode: 3, timedOut: false });
      });

      it("forwards stdin as it comes and closes it at its end: cat echoes each chunk before the next is sent", async () => {
        await started("c-cat");
        const stdin = new PassThrough();
        const s = await h.runtime.execStream("c-cat", { argv: execStreamCommand({ kind: "cat" }), stdin });
        const seen: Buffer[] = [];
        s.stdout.on("data", (c: Buffer) => seen.push(c));
        const errText = (async () => {
          let t = "";
          for await (const c of s.stderr) t += c;
          return t;
        })();
        const got = () => Buffer.concat(seen);
        stdin.write(Buffer.from("a\0b"));
        await until(h, "the first chunk echoed", async () => got().length === 3);
        expect(got()).toEqual(Buffer.from("a\0b"));
        stdin.write(byteRamp(1));
        await until(h, "the second chunk echoed", async () => got().length === 3 + 256);
        stdin.end();
        const { value } = await during(h, s.exit);
        expect(value).toEqual({ exitCode: 0, timedOut: false });
        expect(got()).toEqual(Buffer.concat([Buffer.from("a\0b"), byteRamp(1)]));
        expect(await errText).toBe("");
      });

      it("a command that does not exist exits 127, one that is not executable 126, with the reason and no output", async () => {
        await started("c-nosuch");
        const missing = await during(h, h.runtime.execStream("c-nosuch", { argv: [MISSING_COMMAND, "x"] }).then(drain));
        expect(missing.value.exit).toMatchObject({ exitCode: 127, timedOut: false });
        expect(missing.value.exit.startError).toMatch(new RegExp(`^exec: "${MISSING_COMMAND}": .*not found`));
        expect(missing.value.out.length + missing.value.err.length).toBe(0);
        const noexec = await during(h, h.runtime.execStream("c-nosuch", { argv: [NOT_EXECUTABLE] }).then(drain));
        expect(noexec.value.exit).toMatchObject({ exitCode: 126, timedOut: false });
        expect(noexec.value.exit.startError).toMatch(new RegExp(`^exec: "${NOT_EXECUTABLE}": permission denied`));
        expect(noexec.value.out.length + noexec.value.err.length).toBe(0);
      });

      it("a timeout or an abort kills it and ends both streams (137; timedOut on timeout)", async () => {
        await started("c-stream-slow");
        const slow = execOf({ sleepMs: 30_000, stdout: "never" });
        const t = await during(h, h.runtime.execStream("c-stream-slow", { ...slow, timeoutMs: 500 }).then(drain));
        expect(t.value.exit).toEqual({ exitCode: 137, timedOut: true });
        expect(t.value.out.toString()).toBe("");
        expect(t.elapsedMs).toBeGreaterThanOrEqual(500);
        expect(t.elapsedMs).toBeLessThan(5000);
        const ac = new AbortController();
        const s = await h.runtime.execStream("c-stream-slow", { ...slow, signal: ac.signal });
        const draining = drain(s);
        await h.pass(300);
        ac.abort();
        const a = await during(h, draining, 5000);
        expect(a.value.exit).toEqual({ exitCode: 137, timedOut: false });
        expect((await h.runtime.inspect("c-stream-slow")).status).toBe("running");
      });

      it("NotFound for a missing container, FailedPrecondition unless running, InvalidArgument for an empty argv or a relative workingDir", async () => {
        await expect(h.runtime.execStream("c-missing", { argv: ["true"] })).rejects.toMatchObject({ kind: "NotFound" });
        await h.runtime.create(spec("c-stream-idle", serve()));
        await expect(h.runtime.execStream("c-stream-idle", { argv: ["true"] })).rejects.toMatchObject({ kind: "FailedPrecondition" });
        await h.runtime.start("c-stream-idle");
        await expect(h.runtime.execStream("c-stream-idle", { argv: [] })).rejects.toMatchObject({ kind: "InvalidArgument" });
        await expect(h.runtime.execStream("c-stream-idle", { argv: ["true"], workingDir: "tmp" })).rejects.toMatchObject({ kind: "InvalidArgument" });
      });
    });

    describe("logs", () => {
      it("keeps stdout and stderr lines in order, with tail and since", async () => {
        await run("c-log", { kind: "exit", code: 0, stdout: ["one", "two", "three"], stderr: ["oops"] });
        await statusIs(h, "c-log", "exited");
        const lines = await collect(h.runtime.logs("c-log"));
        expect(lines.filter((l) => l.stream === "stdout").map((l) => l.text)).toEqual(["one", "two", "three"]);
        expect(lines.filter((l) => l.stream === "stderr").map((l) => l.text)).toEqual(["oops"]);
        expect(lines.every((l) => l.full && !Number.isNaN(Date.parse(l.time)))).toBe(true);
        const tail = (await collect(h.runtime.logs("c-log", { tail: 2 }))).map((l) => l.text);
        expect(tail).toEqual(lines.slice(-2).map((l) => l.text));
        expect(await collect(h.runtime.logs("c-log", { tail: 0 }))).toEqual([]);
        expect(await collect(h.runtime.logs("c-log", { since: h.clock.now() + 60_000 }))).toEqual([]);
      });

      it("follows until the container exits", async () => {
        await run("c-tick", { kind: "tick", lines: ["tick 1", "tick 2", "tick 3", "tick 4"], intervalMs: 200 });
        const { value } = await during(h, collect(h.runtime.logs("c-tick", { follow: true })));
        expect(value.map((l) => l.text)).toEqual(["tick 1", "tick 2", "tick 3", "tick 4"]);
        expect((await h.runtime.inspect("c-tick")).status).toBe("exited");
      });

      it("follows a running container until the signal aborts", async () => {
        await run("c-follow", serve());
        const ac = new AbortController();
        const seen: string[] = [];
        const following = (async () => {
          for await (const l of h.runtime.logs("c-follow", { follow: true, signal: ac.signal })) seen.push(l.text);
        })();
        await until(h, "ready followed", async () => seen.includes("ready"));
        ac.abort();
        await during(h, following, 5000);
        expect(seen).toEqual(["ready"]);
        expect((await h.runtime.inspect("c-follow")).status).toBe("running");
      });
    });

    describe("events", () => {
      it("reports started (with the pid), exited (with the code) and removed, in order", async () => {
        const ac = new AbortController();
        const events: RuntimeEvent[] = [];
        const consuming = (async () => {
          for await (const e of h.runtime.events(ac.signal)) events.push(e);
        })();
        const started = await run("c-events", { kind: "exit", code: 4, afterMs: 300 });
        await statusIs(h, "c-events", "exited");
        await h.runtime.remove("c-events");
        const mine = () => events.filter((e) => e.id === started.id);
        await until(h, "removed event", async () => mine().some((e) => e.type === "removed"));
        ac.abort();
        await during(h, consuming, 5000);
        expect(mine().map((e) => e.type)).toEqual(["started", "exited", "removed"]);
        expect(mine()[0]).toMatchObject({ type: "started", name: "c-events", pid: started.pid });
        expect(mine()[1]).toMatchObject({ type: "exited", name: "c-events", exitCode: 4, oomKilled: false });
      });
    });

    describe("survival", () => {
      it("a new instance adopts running containers (same id and pid) and learns exits that happened while none ran", async ({ skip }) => {
        if (!h.reopen) return skip();
        const web = await run("c-web", serve({ SIGTERM: { exitCode: 0 } }));
        const job = await run("c-late", { kind: "exit", code: 7, afterMs: 500 });
        await printed(h, "c-web");
        const old = h.runtime;
        await h.reopen(() => h.pass(1500));
        await expect(old.inspect("c-web")).rejects.toMatchObject({ kind: "FailedPrecondition" });
        expect(await h.runtime.inspect("c-web")).toMatchObject({ id: web.id, status: "running", pid: web.pid, startedAt: web.startedAt });
        const late = await h.runtime.inspect("c-late");
        expect(late).toMatchObject({ id: job.id, status: "exited", exitCode: 7, oomKilled: false });
        expect(late.reason).toBeUndefined();
        expect((await during(h, h.runtime.stop("c-web"))).value.exitCode).toBe(0);
      });

      it("after a reboot, containers that were running are exited with a reason and can start again", async ({ skip }) => {
        if (!h.reboot) return skip();
        await run("c-victim", serve());
        await h.runtime.create(spec("c-created", serve()));
        await printed(h, "c-victim");
        await h.reboot();
        const s = await h.runtime.inspect("c-victim");
        expect(s).toMatchObject({ status: "exited", exitCode: 255 });
        expect(s.reason).toEqual(expect.any(String));
        expect(s.pid).toBeUndefined();
        expect((await h.runtime.inspect("c-created")).status).toBe("created");
        const again = await h.runtime.start("c-victim");
        expect(again.status).toBe("running");
        expect(again.reason).toBeUndefined();
      });
    });
  });
}

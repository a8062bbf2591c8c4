import { describe, expect, it } from "vitest";
import { parseBody } from "./bodies.js";

const messageOf = (p: Promise<unknown>) => p.then(() => "valid", (err: Error & { kind?: string }) => `${err.kind}: ${err.message}`);

describe("request body validation", () => {
  it("returns a valid body as it is", async () => {
    const body = { stack: "web", files: [{ file: "a.yaml", text: "", baseDir: "/" }], dryRun: true };
    expect(await parseBody("ApplyRequest", body, "apply")).toBe(body);
  });

  it("names each problem's field and what was expected, in one InvalidArgument", async () => {
    expect(await messageOf(parseBody("ApplyRequest", { stack: "s", files: [{ file: "a", text: 1, baseDir: "/" }] }, "apply"))).toBe(
      "InvalidArgument: apply: body.files[0].text: expected a string, got 1",
    );
    expect(await messageOf(parseBody("ExecRequest", { argvv: ["sh"] }, "exec"))).toBe('InvalidArgument: exec: unknown field "argvv" (did you mean "argv"?)');
    expect(await messageOf(parseBody("ExecRequest", { argv: ["sh"], timeoutMs: 1.5 }, "exec"))).toBe("InvalidArgument: exec: body.timeoutMs: expected an integer, got 1.5");
    expect(await messageOf(parseBody("ImageTagRequest", { source: "a" }, "tag image"))).toBe('InvalidArgument: tag image: missing required field "target"');
    expect(await messageOf(parseBody("ImagePruneRequest", "all", "prune images"))).toBe('InvalidArgument: prune images: body: expected a mapping, got "all"');
  });

  it("says the known fields once, and counts what it does not show", async () => {
    const body = { argv: ["sh"], a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 };
    expect(await messageOf(parseBody("ExecRequest", body, "exec"))).toBe(
      'InvalidArgument: exec: unknown field "a" (known fields: argv, env, user, workingDir, timeoutMs, tty, size); unknown field "b"; unknown field "c"; unknown field "d"; unknown field "e"; and 1 more',
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { berth } from "../helpers/cli.js";

const dir = mkdtempSync(path.join(tmpdir(), "berth-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bad = `apiVersion: berth/v1
kind: Container
metadata:
  name: web
spec:
  imagee: busybox
  ports: ["8080:70000"]
`;

describe("berth validate", () => {
  it("exits 0 and prints nothing for the examples", async () => {
    const r = await berth(["validate", "-f", "examples", "-R"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("prints every located error with the source line, and exits 1", async () => {
    const file = path.join(dir, "bad.yaml");
    writeFileSync(file, bad);
    const r = await berth(["validate", "-f", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${file}:6:3: error: container/web: spec.imagee: unknown field "imagee"; did you mean "image"?\n  |\n6 |   imagee: busybox\n  |   ^\n`);
    expect(r.stderr).toContain(`${file}:7:11: error: container/web: spec.ports[0]: port 70000 is out of range: expected 1 to 65535`);
    expect(r.stderr).not.toContain("at ");
    expect(r.stderr.trimEnd().split("\n").pop()).toBe("2 errors in 1 file");
  });

  it("gives the errors as data with -o json", async () => {
    const file = path.join(dir, "bad2.yaml");
    writeFileSync(file, bad.replace('  ports: ["8080:70000"]\n', ""));
    const r = await berth(["validate", "-f", file, "-o", "json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: false,
      files: [file],
      objects: [],
      diagnostics: [
        {
          severity: "error",
          file,
          line: 6,
          column: 3,
          object: "container/web",
          path: "spec.imagee",
          message: 'unknown field "imagee"',
          suggestion: 'did you mean "image"?',
        },
      ],
    });
  });

  it("reads standard input with -f -", async () => {
    const ok = await berth(["validate", "-f", "-", "-o", "json"], { input: "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: v}\n" });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, files: ["<stdin>"], objects: ["volume/v"] });
    const no = await berth(["validate", "-f", "-"], { input: "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: V}\n" });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('<stdin>:3:18: error: volume/V: metadata.name: expected a name of lowercase letters');
  });

  it("says when a file does not exist", async () => {
    const r = await berth(["validate", "-f", path.join(dir, "nope.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(dir, "nope.yaml")}: error: no such file or directory`);
  });

  it("refuses a privileged container unless allowed", async () => {
    const file = path.join(dir, "priv.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Container\nmetadata: {name: p}\nspec: {image: busybox, privileged: true}\n");
    expect((await berth(["validate", "-f", file])).code).toBe(1);
    expect((await berth(["validate", "-f", file, "--allow-privileged"])).code).toBe(0);
  });
});

describe("berth command line", () => {
  it("prints its version", async () => {
    const r = await berth(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("has help for the program and each command", async () => {
    const top = await berth(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: berth \[options\] \[command\]/);
    expect(top.stdout).toMatch(/validate \[options\]\s+check manifests/);
    const sub = await berth(["validate", "--help"]);
    expect(sub.code).toBe(0);
    for (const flag of ["-f, --filename <path...>", "-R, --recursive", "-o, --output <format>", "--allow-privileged", "-h, --help"]) {
      expect(sub.stdout).toContain(flag);
    }
  });

  it("exits 2 with a clear message on usage errors", async () => {
    const missing = await berth(["validate"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '-f, --filename <path...>' not specified");
    const typo = await berth(["valdate"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean validate?)");
    const badOut = await berth(["validate", "-f", "x", "-o", "xml"]);
    expect(badOut.code).toBe(2);
    expect(badOut.stderr).toContain("Allowed choices are text, json");
  });
});

describe("output to a reader that stops early (berth ... | head)", () => {
  it("exits quietly when stdout's pipe closes: no stack trace", async () => {
    const { spawn } = await import("node:child_process");
    const { BERTH } = await import("../helpers/cli.js");
    const child = spawn(process.execPath, [BERTH, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    // read one chunk, then close the read end, as `head -1` does
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|at .*\(node:/);
    expect(code).toBe(0);
  });
});

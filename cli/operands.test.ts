import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { endOptionsAtOperand } from "./operands.js";

describe("endOptionsAtOperand: berth run's options end at the image", async () => {
  const program = await buildProgram("0.0.0-test", ["container"]);
  const argv = (...args: string[]) => endOptionsAtOperand(["node", "berth", ...args], program).slice(2);

  it("puts -- before the image, so the command's own options stay its own", () => {
    expect(argv("run", "--rm", "-i", "img", "sh", "-c", "echo hi")).toEqual(["run", "--rm", "-i", "--", "img", "sh", "-c", "echo hi"]);
    expect(argv("run", "img", "ls", "-l", "--rm")).toEqual(["run", "--", "img", "ls", "-l", "--rm"]);
  });

  it("skips option values as the options declare them: separate, inline, after =, in a short cluster", () => {
    expect(argv("run", "--name", "web", "-e", "A=1", "-eB=2", "--network=none", "-it", "-p", "80:80", "img", "-x")).toEqual([
      "run", "--name", "web", "-e", "A=1", "-eB=2", "--network=none", "-it", "-p", "80:80", "--", "img", "-x",
    ]);
    // -i and -t are flags; -e in a cluster takes the next word
    expect(argv("run", "-ite", "K=V", "img")).toEqual(["run", "-ite", "K=V", "--", "img"]);
  });

  it("knows the program's options before and after the command", () => {
    expect(argv("--run-root", "/tmp/r", "run", "--socket", "/tmp/s", "img", "true")).toEqual(["--run-root", "/tmp/r", "run", "--socket", "/tmp/s", "--", "img", "true"]);
  });

  it("leaves alone an argv that already has --, has no operand, or is another command", () => {
    expect(argv("run", "--rm", "--", "img", "-c")).toEqual(["run", "--rm", "--", "img", "-c"]);
    expect(argv("run", "--rm")).toEqual(["run", "--rm"]);
    expect(argv("exec", "web", "sh", "-c", "x")).toEqual(["exec", "web", "sh", "-c", "x"]);
    expect(argv()).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import type { ImageBuildEvent } from "../../controller/api/protocol.js";
import { Capture } from "../testing.js";
import { BuildPrinter, buildProgressMode, stageLabel } from "./build-output.js";

const ID = `sha256:${"ab12".repeat(16)}`;
const EVENTS: ImageBuildEvent[] = [
  { type: "warning", message: "Dockerfile:1:1: FromAsCasing: 'as' and 'FROM' keywords' casing do not match" },
  { type: "step", stage: "build", step: 1, steps: 2, text: "FROM localhost/busybox:latest" },
  { type: "step", stage: "build", step: 2, steps: 2, text: "RUN echo hi > /hi" },
  { type: "miss", reason: "no cached result for this step" },
  { type: "output", stream: "stdout", line: "hi" },
  { type: "output", stream: "stderr", line: "oops" },
  { type: "step", stage: "1", step: 1, steps: 2, text: "FROM scratch" },
  { type: "step", stage: "1", step: 2, steps: 2, text: "COPY --from=build /hi /hi" },
  { type: "cached", text: "COPY --from=build /hi /" },
  { type: "done", image: `sha256:${"d".repeat(64)}`, configDigest: ID, tags: ["localhost/app:1", "app"], seconds: 1.5 },
];

describe("build output", () => {
  it("prints steps numbered through the build, CACHED or the miss's reason, RUN output, warnings apart, Docker's last lines", () => {
    const out = new Capture();
    const err = new Capture();
    const p = new BuildPrinter(out, err, "plain");
    for (const e of EVENTS) p.event(e);
    expect(out.text).toBe(
      [
        "#1 [build 1/2] FROM localhost/busybox:latest",
        "#2 [build 2/2] RUN echo hi > /hi",
        " ---> miss: no cached result for this step",
        "hi",
        "oops",
        "#3 [stage-1 1/2] FROM scratch",
        "#4 [stage-1 2/2] COPY --from=build /hi /hi",
        " ---> CACHED",
        "Successfully built ab12ab12ab12",
        "Successfully tagged localhost/app:1",
        "Successfully tagged app:latest",
        "",
      ].join("\n"),
    );
    expect(err.text).toBe("WARNING: Dockerfile:1:1: FromAsCasing: 'as' and 'FROM' keywords' casing do not match\n");
  });

  it("quiet prints the image ID only; the modes follow --progress, -q and the terminal", () => {
    const out = new Capture();
    const p = new BuildPrinter(out, new Capture(), "quiet");
    for (const e of EVENTS) p.event(e);
    expect(out.text).toBe(`${ID}\n`);
    expect(buildProgressMode("auto", false, new Capture(false))).toBe("plain");
    expect(buildProgressMode("auto", false, new Capture(true))).toBe("tty");
    expect(buildProgressMode("plain", false, new Capture(true))).toBe("plain");
    expect(buildProgressMode("auto", true, new Capture(true))).toBe("quiet");
    expect(buildProgressMode("quiet", false, new Capture(false))).toBe("quiet");
    expect([stageLabel("0"), stageLabel("build")]).toEqual(["stage-0", "build"]);
  });

  it("on a terminal shows the same lines (RUN output too), only the step lines styled", () => {
    const out = new Capture(true);
    const p = new BuildPrinter(out, new Capture(), "tty");
    for (const e of EVENTS) p.event(e);
    const plain = out.text.replace(/\u001b\[[0-9;]*m/g, "");
    expect(plain.split("\n")).toContain("hi");
    expect(plain).toContain("#2 [build 2/2] RUN echo hi > /hi\n");
  });
});

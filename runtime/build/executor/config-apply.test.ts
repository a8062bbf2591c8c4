import { describe, expect, it } from "vitest";
import type { ImageRuntimeConfig } from "../../types.js";
import { parseDockerfile } from "../frontend/parse.js";
import { applyConfig, type ConfigState } from "./config-apply.js";

/** Applies every instruction after FROM of `text` over `base`. */
function run(text: string, base: ImageRuntimeConfig = {}, args: Record<string, string> = {}) {
  const df = parseDockerfile(`FROM scratch\n${text}\n`);
  let state: ConfigState = { config: base, args, cmdSet: false, escape: "\\" };
  const texts: string[] = [];
  for (const ins of df.instructions.slice(1)) {
    const a = applyConfig(ins, state);
    state = a.state;
    texts.push(a.text);
  }
  return { config: state.config, texts, state };
}

describe("applyConfig", () => {
  it("ENV expands every word against the environment before the instruction; ENV wins over ARG", () => {
    const { config } = run("ENV a=1\nENV a=2 b=$a\nENV c=${X}", { Env: ["PATH=/bin"] }, { X: "from-arg", a: "arg" });
    expect(config.Env).toEqual(["PATH=/bin", "a=2", "b=1", "c=from-arg"]);
  });

  it("LABEL, EXPOSE with ranges and protocols, USER and STOPSIGNAL expand", () => {
    const { config, texts } = run("LABEL v=$V \"two words\"=x\nEXPOSE 80 53/udp 8000-8001\nUSER ${U:-app}\nSTOPSIGNAL SIGQUIT", {}, { V: "1" });
    expect(config.Labels).toEqual({ v: "1", "two words": "x" });
    expect(Object.keys(config.ExposedPorts!)).toEqual(["80/tcp", "53/udp", "8000/tcp", "8001/tcp"]);
    expect(config.User).toBe("app");
    expect(config.StopSignal).toBe("SIGQUIT");
    expect(texts[1]).toBe("EXPOSE 80/tcp 53/udp 8000/tcp 8001/tcp");
  });

  it("WORKDIR chains relative paths and cleans them", () => {
    expect(run("WORKDIR /a\nWORKDIR b\nWORKDIR ../c/./d/").config.WorkingDir).toBe("/a/c/d");
    expect(run("WORKDIR rel").config.WorkingDir).toBe("/rel");
  });

  it("CMD and ENTRYPOINT: shell form under SHELL, exec form as is; ENTRYPOINT drops an inherited CMD but not the stage's", () => {
    expect(run("ENTRYPOINT [\"/app\"]", { Cmd: ["sh"] }).config).toMatchObject({ Entrypoint: ["/app"], Cmd: null });
    expect(run("CMD [\"x\"]\nENTRYPOINT [\"/app\"]", { Cmd: ["sh"] }).config).toMatchObject({ Entrypoint: ["/app"], Cmd: ["x"] });
    expect(run("SHELL [\"/bin/ash\", \"-ec\"]\nCMD echo $HOME").config.Cmd).toEqual(["/bin/ash", "-ec", "echo $HOME"]);
  });

  it("HEALTHCHECK forms and durations; NONE disables", () => {
    expect(run("HEALTHCHECK --interval=5s --retries=2 CMD wget -qO- localhost").config.Healthcheck).toEqual({ Test: ["CMD-SHELL", "wget -qO- localhost"], Interval: 5e9, Retries: 2 });
    expect(run('HEALTHCHECK CMD ["true"]').config.Healthcheck).toEqual({ Test: ["CMD", "true"] });
    expect(run("HEALTHCHECK NONE").config.Healthcheck).toEqual({ Test: ["NONE"] });
  });

  it("VOLUME in both forms, ONBUILD kept as written, MAINTAINER as author", () => {
    const r = run('VOLUME /data $D\nVOLUME ["/x y"]\nONBUILD RUN echo $HOME\nMAINTAINER me', {}, { D: "/d" });
    expect(Object.keys(r.config.Volumes!)).toEqual(["/data", "/d", "/x y"]);
    expect(r.config.OnBuild).toEqual(["RUN echo $HOME"]);
    expect(r.state.author).toBe("me");
  });

  it("refuses bad values", () => {
    expect(() => run("EXPOSE 70000")).toThrow(/invalid port/);
    expect(() => run("EXPOSE http")).toThrow(/invalid port/);
    expect(() => run("STOPSIGNAL $(reboot)")).toThrow(/invalid STOPSIGNAL/);
  });
});

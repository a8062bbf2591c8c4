import { describe, expect, it } from "vitest";
import type { ImageRuntimeConfig } from "../types.js";
import { applyCommitChanges } from "./commit-changes.js";

const base: ImageRuntimeConfig = { Cmd: ["sh"], Env: ["PATH=/bin"], Labels: { a: "1" } };
const apply = (...changes: string[]) => applyCommitChanges(base, changes, "commit container web");
const error = (...changes: string[]) => {
  try {
    apply(...changes);
  } catch (err) {
    return { kind: (err as { kind?: string }).kind, message: (err as Error).message };
  }
  throw new Error("expected an error");
};

describe("commit --change over the container's image config", () => {
  it("applies the instructions in order over the image config, which it does not touch", () => {
    expect(apply('CMD ["sleep", "1"]', "ENV MODE=x PATH=/usr/bin", "LABEL b=2", "EXPOSE 80 53/udp", "USER nobody", "WORKDIR /srv", "STOPSIGNAL SIGINT", 'VOLUME ["/data"]', "volume /a /b")).toEqual({
      Cmd: ["sleep", "1"],
      Env: ["PATH=/usr/bin", "MODE=x"],
      Labels: { a: "1", b: "2" },
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      User: "nobody",
      WorkingDir: "/srv",
      StopSignal: "SIGINT",
      Volumes: { "/data": {}, "/a": {}, "/b": {} },
    });
    expect(base).toEqual({ Cmd: ["sh"], Env: ["PATH=/bin"], Labels: { a: "1" } });
    expect(apply()).toEqual(base);
  });

  it("ENTRYPOINT clears the image's CMD unless a CMD came first, as in a Dockerfile", () => {
    expect(apply('ENTRYPOINT ["top"]')).toEqual({ Env: ["PATH=/bin"], Labels: { a: "1" }, Entrypoint: ["top"] });
    expect(apply('CMD ["-b"]', 'ENTRYPOINT ["top"]')).toMatchObject({ Entrypoint: ["top"], Cmd: ["-b"] });
    expect(apply('ENTRYPOINT ["top"]', 'CMD ["-b"]')).toMatchObject({ Entrypoint: ["top"], Cmd: ["-b"] });
    expect(apply("CMD echo hi")).toMatchObject({ Cmd: ["/bin/sh", "-c", "echo hi"] });
    expect(applyCommitChanges({ Shell: ["/bin/bash", "-ec"] }, ["ENTRYPOINT exec top", "CMD echo hi"], "c")).toEqual({ Shell: ["/bin/bash", "-ec"], Entrypoint: ["/bin/bash", "-ec", "exec top"], Cmd: ["/bin/bash", "-ec", "echo hi"] });
  });

  it("ONBUILD adds a trigger as written; HEALTHCHECK sets Docker's Test forms and nanosecond durations", () => {
    expect(apply("ONBUILD RUN make", "onbuild COPY . /src").OnBuild).toEqual(["RUN make", "COPY . /src"]);
    expect(apply("HEALTHCHECK NONE").Healthcheck).toEqual({ Test: ["NONE"] });
    expect(apply("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=100ms --retries=3 CMD wget -q localhost").Healthcheck).toEqual({
      Test: ["CMD-SHELL", "wget -q localhost"],
      Interval: 30e9,
      Timeout: 90e9,
      StartPeriod: 100e6,
      Retries: 3,
    });
    expect(apply('HEALTHCHECK CMD ["true"]').Healthcheck).toEqual({ Test: ["CMD", "true"] });
  });

  it("refuses what Docker's commit refuses and what berth images cannot carry, naming the instruction and why", () => {
    expect(error("RUN make")).toEqual({
      kind: "InvalidArgument",
      message: 'commit container web: change "RUN make": RUN is not a valid change command (expected CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)',
    });
    expect(error("ONBUILD ONBUILD RUN x").message).toBe('commit container web: change "ONBUILD ONBUILD RUN x": chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    expect(error("ONBUILD FROM x").message).toBe('commit container web: change "ONBUILD FROM x": FROM isn\'t allowed as an ONBUILD trigger');
    expect(error("HEALTHCHECK --every=1s CMD true").message).toBe(
      'commit container web: change "HEALTHCHECK --every=1s CMD true": unknown HEALTHCHECK flag --every (expected --interval, --timeout, --start-period, --start-interval, --retries)',
    );
    expect(error("HEALTHCHECK --interval=soon CMD true").message).toBe('commit container web: change "HEALTHCHECK --interval=soon CMD true": --interval "soon" is not a duration (e.g. 30s, 1m30s)');
    expect(error("HEALTHCHECK true").message).toBe('commit container web: change "HEALTHCHECK true": expected NONE, or CMD and the check\'s command');
    expect(error("CMD").message).toBe('commit container web: change "CMD": CMD requires at least one argument');
    expect(error("CMD [sh").message).toBe('commit container web: change "CMD [sh": invalid CMD [sh: not a JSON array of strings');
    expect(error("EXPOSE http").message).toBe('commit container web: change "EXPOSE http": invalid EXPOSE http');
    expect(error("VOLUME data").message).toBe('commit container web: change "VOLUME data": volume path "data" is not absolute');
    expect(error("ENV A=1", "[CMD]").message).toBe('commit container web: change "[CMD]": expected an instruction and its arguments, e.g. CMD ["sh"]');
  });
});

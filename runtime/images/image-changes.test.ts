import { describe, expect, it } from "vitest";
import { applyChange } from "./image-changes.js";

describe("docker import --change", () => {
  it("applies each instruction", () => {
    let c = applyChange({}, 'CMD ["sh"]');
    c = applyChange(c, "ENTRYPOINT httpd -f");
    c = applyChange(c, "ENV A=1 B='two words'");
    c = applyChange(c, "ENV C three");
    c = applyChange(c, "ENV A=9");
    c = applyChange(c, "WORKDIR /srv");
    c = applyChange(c, "USER app");
    c = applyChange(c, "LABEL a=b c=d");
    c = applyChange(c, "EXPOSE 80 53/udp");
    c = applyChange(c, "STOPSIGNAL SIGINT");
    expect(c).toEqual({
      Cmd: ["sh"],
      Entrypoint: ["/bin/sh", "-c", "httpd -f"],
      Env: ["A=9", "B=two words", "C=three"],
      WorkingDir: "/srv",
      User: "app",
      Labels: { a: "b", c: "d" },
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      StopSignal: "SIGINT",
    });
  });

  it.each([
    ["RUN apt-get update", /unsupported change instruction RUN/],
    ['CMD ["sh", 1]', /expected a JSON array of strings/],
    ["CMD [sh", /not a JSON array/],
    ["WORKDIR srv", /expected an absolute path/],
    ["EXPOSE http", /invalid EXPOSE http/],
    ["CMD", /expected INSTRUCTION arguments/],
  ])("refuses %j", (change, err) => expect(() => applyChange({}, change)).toThrow(err));
});

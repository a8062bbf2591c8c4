import { describe, expect, it } from "vitest";
import { Problems } from "../problems.js";
import { parsePortShortSyntax } from "./ports.js";

function parse(text: string) {
  const p = new Problems();
  const mappings = parsePortShortSyntax(text, ["ports", 0], p);
  return { mappings, errors: p.errors.map((e) => e.message) };
}

describe("parsePortShortSyntax", () => {
  it("reads an IP, host ports, container ports and a protocol", () => {
    expect(parse("127.0.0.1:5353:53/udp")).toEqual({ mappings: [{ containerPort: 53, hostPort: 5353, hostIP: "127.0.0.1", protocol: "udp" }], errors: [] });
    expect(parse("[::1]:8443:443").mappings).toEqual([{ containerPort: 443, hostPort: 8443, hostIP: "::1", protocol: "tcp" }]);
    expect(parse("127.0.0.1::9000").mappings).toEqual([{ containerPort: 9000, hostIP: "127.0.0.1", protocol: "tcp" }]);
    expect(parse("7000-7001:8000-8001").mappings).toEqual([
      { containerPort: 8000, hostPort: 7000, protocol: "tcp" },
      { containerPort: 8001, hostPort: 7001, protocol: "tcp" },
    ]);
  });

  it("reports one problem and no mapping for a bad port", () => {
    expect(parse("x:1:2")).toEqual({ mappings: [], errors: ['expected an IP address before the host port, got "x"'] });
    expect(parse("80:70000").errors).toEqual(["port 70000 is out of range: expected 1 to 65535"]);
    expect(parse("5-3").errors).toEqual(['port range "5-3" ends before it starts']);
    expect(parse("1-2000").errors).toEqual(["port range of 2000 ports is over the limit of 1000"]);
    expect(parse("10-11:20-22").errors).toEqual(["host port range 10-11 has 2 ports but container range 20-22 has 3"]);
  });
});

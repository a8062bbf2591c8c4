import { describe, expect, it } from "vitest";
import { hostsContent, resolvConfContent } from "./etc-files.js";

describe("/etc/hosts and resolv.conf of a container", () => {
  const extraHosts = [
    { address: "10.0.0.2", names: ["db"] },
    { address: "::1", names: ["v6"] },
  ];

  it("appends the extra hosts after berth's lines, in bridge, none and host mode", () => {
    const bridge = hostsContent({ networkMode: "bridge", hosts: [{ address: "172.18.0.2", names: ["web"] }], extraHosts }, "web", undefined);
    expect(bridge.split("\n").slice(-4)).toEqual(["172.18.0.2\tweb", "10.0.0.2\tdb", "::1\tv6", ""]);
    expect(hostsContent({ networkMode: "none", extraHosts }, "h", undefined)).toContain("127.0.1.1\th\n10.0.0.2\tdb\n::1\tv6\n");
    expect(hostsContent({ networkMode: "host", extraHosts }, "h", "127.0.0.1 localhost")).toBe("127.0.0.1 localhost\n10.0.0.2\tdb\n::1\tv6\n");
    expect(hostsContent({ networkMode: "host" }, "h", "127.0.0.1 localhost\n")).toBe("127.0.0.1 localhost\n");
  });

  it("bridge: the networks' resolvers, search and options, and a comment naming the upstreams they forward to", () => {
    const text = resolvConfContent({ networkMode: "bridge", dns: { nameservers: ["172.18.0.1"], search: ["corp.example"], options: ["ndots:2"], upstreams: ["1.1.1.1", "9.9.9.9"] } }, undefined);
    expect(text).toBe("# berth: the resolvers of this container's networks\n# berth: other names are forwarded to 1.1.1.1 9.9.9.9\nnameserver 172.18.0.1\nsearch corp.example\noptions ndots:2\n");
  });

  it("host mode with dns: the given settings, each defaulting to the host's; without: the host's file", () => {
    const host = "nameserver 192.168.1.1\nsearch lan\noptions edns0\n";
    expect(resolvConfContent({ networkMode: "host", dns: { nameservers: ["1.1.1.1"], search: [], options: [] } }, host)).toBe("# berth: the container's dns settings over the host's\nnameserver 1.1.1.1\nsearch lan\noptions edns0\n");
    expect(resolvConfContent({ networkMode: "host", dns: { nameservers: [], search: ["corp"], options: [] } }, host)).toBe("# berth: the container's dns settings over the host's\nnameserver 192.168.1.1\nsearch corp\noptions edns0\n");
    expect(resolvConfContent({ networkMode: "host" }, host)).toBe(host);
  });
});

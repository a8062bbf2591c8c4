import { describe, expect, it } from "vitest";
import { allowsHttp, mirrorsOf, validateRegistrySettings } from "./settings.js";

describe("registry settings", () => {
  it("reads mirrors for Hub and per registry, and insecure registries", () => {
    const s = validateRegistrySettings({
      registryMirrors: ["https://mirror.example.com/"],
      mirrors: { "127.0.0.1:5000": ["http://127.0.0.1:5001"], "index.docker.io": ["https://hub2.example.com"] },
      insecureRegistries: ["Registry.LAN:5000", "10.0.0.0/8"],
      other: "ignored",
    });
    expect(mirrorsOf(s, "docker.io")).toEqual(["https://mirror.example.com", "https://hub2.example.com"]);
    expect(mirrorsOf(s, "127.0.0.1:5000")).toEqual(["http://127.0.0.1:5001"]);
    expect(mirrorsOf(s, "quay.io")).toEqual([]);
    expect(allowsHttp(s, "registry.lan:5000")).toBe(true);
    expect(allowsHttp(s, "registry.lan:5001")).toBe(false);
    expect(allowsHttp(s, "10.1.2.3:80")).toBe(true);
    expect(allowsHttp(s, "localhost:1")).toBe(true);
    expect(allowsHttp(s, "[::1]:5000")).toBe(true);
    expect(allowsHttp(s, "127.9.9.9")).toBe(true);
    expect(allowsHttp(s, "example.com")).toBe(false);
  });

  it.each([
    [{ registryMirrors: "https://m" }, "registryMirrors: must be an array of strings"],
    [{ registryMirrors: ["ftp://m"] }, 'registryMirrors[0]: "ftp://m" is not an http(s) URL'],
    [{ registryMirrors: ["https://m/v2/"] }, 'registryMirrors[0]: "https://m/v2/": a mirror URL has no path, query or fragment'],
    [{ registryMirrors: ["http://mirror.example.com"] }, 'registryMirrors[0]: "http://mirror.example.com" is plain http to a host that is neither loopback nor in insecureRegistries'],
    [{ mirrors: { "a b": [] } }, 'mirrors["a b"]: "a b" is not a registry host[:port]'],
    [{ mirrors: { "r:1": ["https://u:p@m"] } }, 'mirrors["r:1"][0]: "https://u:p@m": credentials do not belong in a mirror URL (use login)'],
    [{ insecureRegistries: ["http://r"] }, 'insecureRegistries[0]: "http://r": give host[:port] or a CIDR, not a URL'],
    [{ insecureRegistries: ["10.0.0.0/33"] }, 'insecureRegistries[0]: "10.0.0.0/33" is not an IPv4 CIDR (like 10.0.0.0/8)'],
    [[], "(top level): must be a JSON object"],
  ])("refuses %j", (doc, message) => {
    expect(() => validateRegistrySettings(doc, "/etc/berth/daemon.json")).toThrow(`read registry settings /etc/berth/daemon.json: ${message}`);
  });

  it("allows an http mirror on a host listed as insecure", () => {
    const s = validateRegistrySettings({ insecureRegistries: ["mirror.lan"], registryMirrors: ["http://mirror.lan:5000"] });
    expect(s.registryMirrors).toEqual(["http://mirror.lan:5000"]);
  });
});

import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { credentialKey, lookupCredential, removeCredential, storeCredential } from "./credentials.js";
import { checkRealm } from "./realm-policy.js";
import { parseWwwAuthenticate } from "./www-authenticate.js";

describe("WWW-Authenticate", () => {
  it("parses bearer parameters, quoted commas, several challenges", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull,push" } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a \\"b\\"", Bearer realm=https://x/t')).toEqual([
      { scheme: "basic", params: { realm: 'a "b"' } },
      { scheme: "bearer", params: { realm: "https://x/t" } },
    ]);
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate("=,,=")).toEqual([]);
  });
});

describe("realm policy", () => {
  const policy = { allowRealmHosts: ["oauth2.googleapis.com"], allowsHttp: (h: string) => h.startsWith("127.") };
  it.each([
    ["registry-1.docker.io", "https://auth.docker.io/token", true],
    ["ghcr.io", "https://ghcr.io/token", true],
    ["europe-docker.pkg.dev", "https://oauth2.googleapis.com/token", true],
    ["127.0.0.1:5000", "http://127.0.0.1:6000/token", true],
    ["registry-1.docker.io", "http://auth.docker.io/token", false],
    ["registry-1.docker.io", "https://auth.docker.io.evil.com/token", false],
    ["myreg.github.io", "https://other.github.io/token", false], // github.io is a public suffix
    ["127.0.0.1:5000", "http://127.0.0.2/token", false],
    ["127.0.0.1:5000", "https://user:pw@127.0.0.1/token", false],
  ])("%s with realm %s: %s", (registry, realm, ok) => {
    expect(checkRealm(policy, registry, new URL(realm)).ok).toBe(ok);
  });
});

describe("credentials", () => {
  it("reads Docker's config keys as Docker does; berth's file wins; login writes 0600", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-creds-"));
    try {
      const dockerConfigFile = path.join(dir, "config.json");
      await fs.writeFile(
        dockerConfigFile,
        JSON.stringify({
          auths: {
            "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw:with:colons").toString("base64") },
            "https://r.example:5000/v2/": { username: "u", password: "p" },
            "broken.example": { auth: "bm9jb2xvbg==" },
            "helper.example": {},
          },
          credsStore: "desktop",
        }),
      );
      const files = { dockerConfigFile, credentialsFile: path.join(dir, "berth", "credentials.json") };
      expect(await lookupCredential(files, "registry-1.docker.io")).toEqual({ username: "hub", password: "pw:with:colons" });
      expect(await lookupCredential(files, "r.example:5000")).toEqual({ username: "u", password: "p" });
      expect(await lookupCredential(files, "r.example")).toBeUndefined();
      expect(await lookupCredential(files, "broken.example")).toBeUndefined();
      expect(await lookupCredential(files, "helper.example")).toBeUndefined();
      await storeCredential(files.credentialsFile, "docker.io", { username: "mine", password: "x" });
      expect((await fs.stat(files.credentialsFile)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await fs.readFile(files.credentialsFile, "utf8"))).toEqual({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from("mine:x").toString("base64") } } });
      expect(await lookupCredential(files, "docker.io")).toEqual({ username: "mine", password: "x" });
      expect(await removeCredential(files.credentialsFile, "index.docker.io")).toBe(true);
      expect(await lookupCredential(files, "docker.io")).toEqual({ username: "hub", password: "pw:with:colons" });
      expect(credentialKey("HTTPS://Index.Docker.IO/v1/")).toBe("docker.io");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

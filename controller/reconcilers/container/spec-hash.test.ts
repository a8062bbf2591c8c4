import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../lib/canonical-json.js";
import type { ContainerSpec } from "../../manifests/model.js";
import { SPEC_HASH_FIELDS, effectiveHealthcheck, healthcheckHash, imageHealthcheck, specHash, type SpecHashInput } from "./spec-hash.js";
import { containerSpec, healthcheck } from "../../testing.js";

const DIGEST = "sha256:" + "a".repeat(64);
const base = (): SpecHashInput => ({ spec: containerSpec(), imageDigest: DIGEST });
const hashWith = (over: Partial<ContainerSpec>, extra: Partial<SpecHashInput> = {}) =>
  specHash({ ...base(), ...extra, spec: containerSpec(over) });

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined members, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: undefined, b: "x" } })).toBe('{"a":{"b":"x","d":[3,1]},"b":1}');
    expect(canonicalJson([undefined, null, true])).toBe("[null,null,true]");
    expect(canonicalJson("é\n")).toBe(JSON.stringify("é\n"));
  });

  it("refuses values JSON cannot carry", () => {
    expect(() => canonicalJson({ a: NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => canonicalJson(cyc)).toThrow(/cycle/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}'); // not a cycle
  });
});

describe("specHash", () => {
  it("is 64 hex characters and stable across key order and undefined members", () => {
    const h = specHash(base());
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(Object.entries(containerSpec()).reverse()) as unknown as ContainerSpec;
    expect(specHash({ imageDigest: DIGEST, spec: reordered })).toBe(h);
    expect(hashWith({ workingDir: undefined })).toBe(h);
  });

  it("pins the representation (a change here recreates every container: bump SPEC_HASH_VERSION)", () => {
    expect(specHash(base())).toBe(specHash(base()));
    expect(specHash(base())).toMatchInlineSnapshot(`"3a8277df2b14cd260219bed5e50301b5da1abdc14344a90f72f56cfed7ff2425"`);
  });

  const recreating: [string, Partial<ContainerSpec> | Partial<SpecHashInput>, boolean][] = [
    ["image reference", { image: "docker.io/library/busybox:1.36" }, false],
    ["command", { command: ["sleep", "1"] }, false],
    ["args", { args: ["-v"] }, false],
    ["env value", { env: [{ name: "A", value: "2" }] }, false],
    ["env order", { env: [{ name: "B", value: "2" }, { name: "A", value: "1" }] }, false],
    ["envFiles", { envFiles: ["/etc/app.env"] }, false],
    ["workingDir", { workingDir: "/srv" }, false],
    ["user", { user: "1000" }, false],
    ["hostname", { hostname: "h" }, false],
    ["mounts", { mounts: [{ type: "tmpfs", target: "/tmp", readOnly: false }] }, false],
    ["networks", { networks: [{ name: "n", aliases: [] }] }, false],
    ["networkMode", { networkMode: "host" }, false],
    ["resources", { resources: { memoryBytes: 64 << 20 } }, false],
    ["stopSignal", { stopSignal: "SIGINT" }, false],
    ["stopGracePeriodMs", { stopGracePeriodMs: 1 }, false],
    ["readOnlyRootfs", { readOnlyRootfs: true }, false],
    ["capAdd", { capAdd: ["CAP_NET_ADMIN"] }, false],
    ["capDrop", { capDrop: ["ALL"] }, false],
    ["privileged", { privileged: true }, false],
    ["init", { init: true }, false],
    ["a network's ipv4Address", { networks: [{ name: "n", aliases: [], ipv4Address: "10.1.0.5" }] }, false],
    ["extraHosts", { extraHosts: [{ name: "db", address: "10.0.0.2" }] }, false],
    ["dns", { dns: ["1.1.1.1"] }, false],
    ["dnsSearch", { dnsSearch: ["example.com"] }, false],
    ["dnsOptions", { dnsOptions: ["ndots:2"] }, false],
    ["image digest", { imageDigest: "sha256:" + "b".repeat(64) }, true],
    ["labels", { labels: { team: "a" } }, true],
    ["env file content", { envFileDigests: { "/etc/app.env": "x" } }, true],
    ["the container whose network it shares", { sharedNetworkOf: "c".repeat(64) }, true],
  ];
  it.each(recreating)("changes with %s", (_name, change, isInput) => {
    const h = specHash(base());
    const changed = isInput ? specHash({ ...base(), ...(change as Partial<SpecHashInput>) }) : hashWith(change as Partial<ContainerSpec>);
    expect(changed).not.toBe(h);
  });

  const live: [string, Partial<ContainerSpec>][] = [
    ["restartPolicy", { restartPolicy: { name: "always", maxRetries: 0, backoff: { initialMs: 1, maxMs: 2, resetAfterMs: 3 } } }],
    ["healthcheck", { healthcheck: healthcheck({ retries: 9 }) }],
    ["healthcheckDisabled", { healthcheckDisabled: true }],
    ["onUnhealthy", { onUnhealthy: "stop" }],
    ["dependsOn", { dependsOn: [{ name: "db", condition: "healthy" }] }],
    ["dependsOn restart and required", { dependsOn: [{ name: "db", condition: "started", restart: true, required: false }] }],
    ["ports (re-programmed in place)", { ports: [{ containerPort: 80, protocol: "tcp" }] }],
  ];
  it.each(live)("does not change with %s (applied live)", (_name, change) => {
    expect(hashWith(change)).toBe(specHash(base()));
  });

  it("classifies every ContainerSpec field", () => {
    expect(Object.keys(SPEC_HASH_FIELDS).sort()).toEqual(Object.keys(containerSpec({ workingDir: "/", user: "u", hostname: "h", networkMode: "none", args: [], stopSignal: "SIGTERM", healthcheck: healthcheck(), init: true, extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [], tty: true, stdin: true, stdinOnce: true })).sort());
  });

  it("is unchanged by the fields added after version 2 while they are unset (an upgrade recreates nothing)", () => {
    // The pinned hash above is the version-2 hash of a spec without them; a network entry
    // without ipv4Address hashes as before too.
    const withNet = containerSpec({ networks: [{ name: "n", aliases: ["a"] }] });
    expect(specHash({ imageDigest: DIGEST, spec: { ...withNet, networks: [{ name: "n", aliases: ["a"], ipv4Address: undefined }] } })).toBe(specHash({ imageDigest: DIGEST, spec: withNet }));
    expect(hashWith({ init: undefined, extraHosts: undefined, dns: undefined, dnsSearch: undefined, dnsOptions: undefined, tty: undefined, stdin: undefined, stdinOnce: undefined })).toBe(specHash(base()));
    // Once set they recreate: the terminal and stdin are the process's at create.
    expect(hashWith({ tty: true })).not.toBe(specHash(base()));
    expect(hashWith({ stdin: true })).not.toBe(hashWith({ tty: true }));
  });
});

describe("effectiveHealthcheck and healthcheckHash", () => {
  const own = healthcheck({ retries: 1 });
  const attached = { check: healthcheck({ retries: 7 }), onUnhealthy: "stop" as const };
  it("disabled wins, then the container's own, then the attached one", () => {
    expect(effectiveHealthcheck({ healthcheck: own, healthcheckDisabled: true, onUnhealthy: "restart" }, attached)).toEqual({ onUnhealthy: "restart" });
    expect(effectiveHealthcheck({ healthcheck: own, healthcheckDisabled: false, onUnhealthy: "restart" }, attached)).toEqual({ check: own, onUnhealthy: "restart" });
    expect(effectiveHealthcheck({ healthcheckDisabled: false, onUnhealthy: "restart" }, attached)).toEqual({ check: attached.check, onUnhealthy: "stop" });
    expect(effectiveHealthcheck({ healthcheckDisabled: false, onUnhealthy: "none" }, { check: attached.check })).toEqual({ check: attached.check, onUnhealthy: "none" });
    expect(effectiveHealthcheck({ healthcheckDisabled: false, onUnhealthy: "none" })).toEqual({ onUnhealthy: "none" });
  });

  it("changes when the check changes and is empty for none", () => {
    expect(healthcheckHash(undefined)).toBe("");
    expect(healthcheckHash(own)).toMatch(/^[0-9a-f]{64}$/);
    expect(healthcheckHash(own)).not.toBe(healthcheckHash(healthcheck({ retries: 2 })));
    expect(healthcheckHash(own)).toBe(healthcheckHash({ ...own }));
  });
});

describe("the image's HEALTHCHECK", () => {
  it("converts Docker's forms with Docker's defaults; NONE, empty and malformed tests are no check", () => {
    expect(imageHealthcheck({ Test: ["CMD-SHELL", "wget -qO- localhost"], Interval: 5e9, Retries: 2 })).toEqual({
      probe: { type: "shell", command: "wget -qO- localhost" },
      intervalMs: 5000,
      timeoutMs: 30_000,
      retries: 2,
      startPeriodMs: 0,
      startIntervalMs: 5000,
    });
    expect(imageHealthcheck({ Test: ["CMD", "true", "x"] })?.probe).toEqual({ type: "exec", argv: ["true", "x"] });
    for (const Test of [["NONE"], [], ["CMD"], ["CMD-SHELL"], ["SHELL", "x"]]) expect(imageHealthcheck({ Test })).toBeUndefined();
    expect(imageHealthcheck(undefined)).toBeUndefined();
  });

  it("applies only to a container with no check of its own, none attached, and checks not disabled", () => {
    const image = { Test: ["CMD", "true"] };
    const own = healthcheck();
    const spec = containerSpec();
    expect(effectiveHealthcheck(spec, undefined, image).check?.probe).toEqual({ type: "exec", argv: ["true"] });
    expect(effectiveHealthcheck({ ...spec, healthcheck: own }, undefined, image).check).toEqual(own);
    expect(effectiveHealthcheck({ ...spec, healthcheckDisabled: true }, undefined, image).check).toBeUndefined();
    expect(effectiveHealthcheck(spec, { check: own }, image).check).toEqual(own);
  });
});

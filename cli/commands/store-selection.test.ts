/**
 * The pure parts of `berth volume|network|container prune`: flag and filter parsing, the
 * prune selections as tables (a base item, one change per row, whether it is chosen), and the
 * Docker-shaped inspect mappings.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { NetworkStoreItem, ObjectView, VolumeStoreItem } from "../../controller/api/protocol.js";
import { UsageError } from "../errors.js";
import { Capture, containerView, NOW } from "../testing.js";
import { containersToPrune, exitedForGood } from "./container-prune.js";
import { dockerNetwork, filterNetworks, networksToPrune, resolveNetwork } from "./network.js";
import { confirm, labelMatches, listOutput, matchesAll, parseFilters, parseKeyValues, parseUntil } from "./store-args.js";
import { dockerVolume, filterVolumes, volumeSpecOptions, volumesToPrune } from "./volume.js";

describe("flags and filters", () => {
  it("K=V lists: a bare key only where allowed (labels), an empty key never", () => {
    expect(parseKeyValues(["a=1", "b=x=y", "c="], "--opt")).toEqual({ a: "1", b: "x=y", c: "" });
    expect(parseKeyValues(["flag"], "--label", { bareAllowed: true })).toEqual({ flag: "" });
    expect(() => parseKeyValues(["flag"], "--opt")).toThrow(new UsageError('invalid --opt "flag": expected KEY=VALUE'));
    expect(() => parseKeyValues(["=v"], "--label", { bareAllowed: true })).toThrow(UsageError);
  });

  it("--filter: known keys, != only where negatable", () => {
    expect(parseFilters(["label=a=b", "label!=c"], ["label"], ["label"])).toEqual([
      { key: "label", negated: false, value: "a=b" },
      { key: "label", negated: true, value: "c" },
    ]);
    expect(() => parseFilters(["size=1"], ["label", "name"])).toThrow('invalid filter "size": this command takes label, name');
    expect(() => parseFilters(["name!=x"], ["name"])).toThrow('invalid filter "name!=x": name takes no !=');
    expect(() => parseFilters(["nokey"], ["name"])).toThrow('invalid filter "nokey": expected key=value');
  });

  it.each([
    ["a", { a: "" }, true],
    ["a", { b: "1" }, false],
    ["a=1", { a: "1" }, true],
    ["a=1", { a: "2" }, false],
    ["a=", { a: "" }, true],
  ])("label=%s on %j: %s (negated: the opposite)", (value, labels, want) => {
    expect(labelMatches(labels, { key: "label", negated: false, value })).toBe(want);
    expect(labelMatches(labels, { key: "label", negated: true, value })).toBe(!want);
  });

  it("one key's values are ORed, different keys ANDed, labels all required", () => {
    const f = parseFilters(["name=a", "name=b", "label=x", "label=y"], ["name", "label"]);
    const t = (name: string, labels: Record<string, string>) => matchesAll(f, (x) => (x.key === "name" ? name === x.value : labelMatches(labels, x)));
    expect(t("a", { x: "", y: "" })).toBe(true);
    expect(t("b", { x: "", y: "" })).toBe(true);
    expect(t("c", { x: "", y: "" })).toBe(false);
    expect(t("a", { x: "" })).toBe(false);
  });

  it("until: a duration before now, an RFC 3339 time, a Unix timestamp", () => {
    expect(parseUntil("24h", NOW)).toBe(NOW - 86_400_000);
    expect(parseUntil("2024-05-01T00:00:00Z", NOW)).toBe(Date.parse("2024-05-01T00:00:00Z"));
    expect(parseUntil("1714521600", NOW)).toBe(1714521600_000);
    expect(() => parseUntil("soon", NOW)).toThrow(UsageError);
  });

  it("-o and --format are one choice", () => {
    expect(listOutput({})).toBe("table");
    expect(listOutput({ output: "yaml" })).toBe("yaml");
    expect(listOutput({ format: "json" })).toBe("docker-json");
    expect(() => listOutput({ format: "{{.Name}}" })).toThrow("Go templates are not supported");
    expect(() => listOutput({ output: "json", format: "json" })).toThrow("give either -o/--output or --format");
    expect(() => listOutput({ output: "wide" })).toThrow(UsageError);
  });
});

describe("prune confirmation", () => {
  const tty = (text: string) => Object.assign(Readable.from([Buffer.from(text)]), { isTTY: true });
  it.each([
    ["y\n", true],
    ["YES\n", true],
    ["n\n", false],
    ["\n", false],
    ["", false],
  ])("answer %j on a terminal: %s", async (answer, want) => {
    const out = new Capture();
    expect(await confirm({ stdin: tty(answer), stdout: out }, "berth volume prune", "WARNING! x.")).toBe(want);
    expect(out.text).toBe("WARNING! x.\nAre you sure you want to continue? [y/N] ");
  });

  it("no terminal: refused, saying to pass -f, and nothing is read", async () => {
    const out = new Capture();
    await expect(confirm({ stdin: Readable.from([Buffer.from("y\n")]), stdout: out }, "berth network prune", "W")).rejects.toThrow(
      new UsageError("berth network prune: standard input is not a terminal, so there is nobody to confirm; pass -f (--force) to network prune without asking"),
    );
    expect(out.text).toBe("");
  });
});

describe("volume --opt", () => {
  it.each([
    [{}, {}],
    [{ type: "tmpfs", size: "64m", mode: "1777" }, { type: "tmpfs", size: "64m", mode: "1777" }],
    // Docker's tmpfs volume spelling
    [{ type: "tmpfs", device: "tmpfs", o: "size=100m,mode=0700" }, { type: "tmpfs", size: "100m", mode: "0700" }],
  ])("%j → %j", (opts, want) => {
    expect(volumeSpecOptions(opts)).toEqual(want);
  });

  it.each([
    [{ device: "/dev/sdb1" }, "NotImplemented", "option device=/dev/sdb1 is not supported"],
    [{ type: "tmpfs", o: "size=1m,uid=1000" }, "NotImplemented", "option o=uid=1000 is not supported"],
    [{ type: "nfs", o: "addr=1.2.3.4" }, "NotImplemented", "option o=addr=1.2.3.4"],
    [{ size: "1g" }, "InvalidArgument", "size and mode are options of type=tmpfs"],
    [{ type: "tmpfs", size: "lots" }, "InvalidArgument", 'size "lots"'],
    [{ type: "tmpfs", mode: "rwx" }, "InvalidArgument", 'mode "rwx"'],
  ])("%j is refused: %s", (opts, kind, text) => {
    expect(() => volumeSpecOptions(opts as Record<string, string>)).toThrow(expect.objectContaining({ kind, message: expect.stringContaining(text) }));
  });
});

const vol = (over: Partial<VolumeStoreItem> = {}): VolumeStoreItem => ({
  name: "v",
  driver: "local",
  declared: true,
  stack: "cli",
  anonymous: false,
  labels: {},
  options: {},
  mountpoint: "/var/lib/berth/volumes/v/_data",
  createdAt: "2024-05-01T10:00:00.000Z",
  exists: true,
  usedBy: [],
  ...over,
});

describe("volume prune selection", () => {
  it.each<[string, Partial<VolumeStoreItem>, { all: boolean; filter?: string[] }, boolean]>([
    ["a named unused volume, without --all", {}, { all: false }, false],
    ["a named unused volume, with --all", {}, { all: true }, true],
    ["an anonymous unused volume", { anonymous: true }, { all: false }, true],
    ["an anonymous volume a desired container mounts", { anonymous: true, usedBy: ["web"] }, { all: true }, false],
    ["a named used volume, with --all", { usedBy: ["web"] }, { all: true }, false],
    ["a runtime-only anonymous mount's volume", { declared: false, anonymous: true, stack: "shop" }, { all: false }, true],
    ["a volume of a manifest's stack, with --all", { stack: "shop" }, { all: true }, true],
    ["label=keep does not match", { anonymous: true }, { all: false, filter: ["label=keep"] }, false],
    ["label=keep matches", { anonymous: true, labels: { keep: "" } }, { all: false, filter: ["label=keep"] }, true],
    ["label!=keep=yes on keep=yes", { anonymous: true, labels: { keep: "yes" } }, { all: false, filter: ["label!=keep=yes"] }, false],
    ["label!=keep=yes on keep=no", { anonymous: true, labels: { keep: "no" } }, { all: false, filter: ["label!=keep=yes"] }, true],
  ])("%s", (_what, over, o, chosen) => {
    const filters = parseFilters(o.filter ?? [], ["label"], ["label"]);
    expect(volumesToPrune([vol(over)], { all: o.all, filters }).length).toBe(chosen ? 1 : 0);
  });

  it("ls filters: dangling is 'no desired container mounts it'", () => {
    const items = [vol({ name: "a", usedBy: ["web"] }), vol({ name: "b" })];
    expect(filterVolumes(items, parseFilters(["dangling=true"], ["dangling"])).map((v) => v.name)).toEqual(["b"]);
    expect(filterVolumes(items, parseFilters(["dangling=false"], ["dangling"])).map((v) => v.name)).toEqual(["a"]);
    expect(() => filterVolumes(items, parseFilters(["dangling=maybe"], ["dangling"]))).toThrow(UsageError);
  });

  it("inspect: Docker's keys (null Labels and Options when empty), berth's facts under Berth", () => {
    expect(dockerVolume(vol({ message: "not ready" }))).toEqual({
      CreatedAt: "2024-05-01T10:00:00.000Z",
      Driver: "local",
      Labels: null,
      Mountpoint: "/var/lib/berth/volumes/v/_data",
      Name: "v",
      Options: null,
      Scope: "local",
      Berth: { Stack: "cli", Object: true, Anonymous: false, Exists: true, UsedBy: [], Message: "not ready" },
    });
    expect(dockerVolume(vol({ labels: { a: "b" }, options: { type: "tmpfs" }, mountpoint: undefined }))).toMatchObject({ Labels: { a: "b" }, Options: { type: "tmpfs" }, Mountpoint: "" });
  });
});

const net = (over: Partial<NetworkStoreItem> = {}): NetworkStoreItem => ({
  name: "n",
  id: "ab".repeat(32),
  driver: "bridge",
  declared: true,
  role: "object",
  stack: "cli",
  exists: true,
  subnet: "10.89.0.0/24",
  gateway: "10.89.0.1",
  internal: false,
  bridge: "br-n",
  labels: {},
  createdAt: "2024-05-01T10:00:00.000Z",
  usedBy: [],
  containers: [],
  ...over,
});

describe("network prune selection", () => {
  it.each<[string, Partial<NetworkStoreItem>, string[], boolean]>([
    ["an unused Network object", {}, [], true],
    ["a Network object a desired container is on", { usedBy: ["db"] }, [], false],
    ["a network a container is attached to (not desired any more)", { containers: [{ name: "old", address: "10.89.0.2/24" }] }, [], false],
    ["the build network, unused", { declared: false, role: "build" }, [], false],
    ["a default network whose stack has containers on it", { declared: false, role: "default", stack: "shop", usedBy: ["web"] }, [], false],
    ["a default network its stack left", { declared: false, role: "default", stack: "gone" }, [], true],
    ["until 1h: created 2h ago", {}, ["until=1h"], true],
    ["until 3h: created 2h ago", {}, ["until=3h"], false],
    ["label=x on no labels", {}, ["label=x"], false],
  ])("%s", (_what, over, filter, chosen) => {
    const filters = parseFilters(filter, ["label", "until"], ["label"]);
    expect(networksToPrune([net(over)], filters, Date.parse("2024-05-01T12:00:00.000Z")).length).toBe(chosen ? 1 : 0);
  });

  it("ls filters: type builtin is berth's own networks; id by prefix; a ref resolves by name, else by a unique ID prefix", () => {
    const items = [net({ name: "a", id: "aa11".padEnd(64, "0") }), net({ name: "b", id: "aa22".padEnd(64, "0"), declared: false, role: "default" }), net({ name: "c", id: "bb".padEnd(64, "0"), declared: false, role: "build" })];
    expect(filterNetworks(items, parseFilters(["type=builtin"], ["type"])).map((n) => n.name)).toEqual(["b", "c"]);
    expect(filterNetworks(items, parseFilters(["type=custom"], ["type"])).map((n) => n.name)).toEqual(["a"]);
    expect(filterNetworks(items, parseFilters(["id=aa"], ["id"])).map((n) => n.name)).toEqual(["a", "b"]);
    expect(resolveNetwork(items, "c")?.name).toBe("c");
    expect(resolveNetwork(items, "aa2")?.name).toBe("b");
    expect(resolveNetwork(items, "aa")).toBeUndefined();
  });

  it("inspect: Docker's shape, Containers keyed by the runtime container's id", () => {
    expect(dockerNetwork(net({ internal: true, labels: { t: "1" }, usedBy: ["db"], containers: [{ name: "db", id: "c".repeat(64), address: "10.89.0.2/24" }, { name: "new", address: "" }] }))).toEqual({
      Name: "n",
      Id: "ab".repeat(32),
      Created: "2024-05-01T10:00:00.000Z",
      Scope: "local",
      Driver: "bridge",
      EnableIPv6: false,
      IPAM: { Driver: "default", Options: null, Config: [{ Subnet: "10.89.0.0/24", Gateway: "10.89.0.1" }] },
      Internal: true,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: "" },
      ConfigOnly: false,
      Containers: {
        ["c".repeat(64)]: { Name: "db", EndpointID: "", MacAddress: "", IPv4Address: "10.89.0.2/24", IPv6Address: "" },
        new: { Name: "new", EndpointID: "", MacAddress: "", IPv4Address: "", IPv6Address: "" },
      },
      Options: { "com.docker.network.bridge.name": "br-n" },
      Labels: { t: "1" },
      Berth: { Stack: "cli", Object: true, Role: "object", Exists: true, UsedBy: ["db"] },
    });
    expect(dockerNetwork(net({ subnet: undefined, gateway: undefined, bridge: undefined })).IPAM.Config).toEqual([]);
  });
});

describe("container prune selection", () => {
  const run = (status: Parameters<typeof containerView>[1], spec: Record<string, unknown> = {}, meta: Partial<ObjectView["metadata"]> = {}) =>
    containerView("c", { phase: "Exited", exitCode: 0, ...status }, { restartPolicy: { name: "no", maxRetries: 0 }, ...spec }, { stack: "run", ...meta });
  it.each<[string, ObjectView, boolean]>([
    ["run stack, exited, policy no", run({}), true],
    ["run stack, exited 1, policy no", run({ exitCode: 1 }), true],
    ["a manifest's stack, exited, policy no", run({}, {}, { stack: "batch" }), false],
    ["another stack annotated created-by run", run({}, {}, { stack: "tools", annotations: { "berth.dev/created-by": "run" } }), true],
    ["running", run({ phase: "Running" }), false],
    ["pending (not started yet)", run({ phase: "Pending" }), false],
    ["restarting (backing off)", run({ phase: "Restarting", nextRestartAt: "2024-05-01T12:00:01Z" }), false],
    ["exited with a restart due", run({ nextRestartAt: "2024-05-01T12:00:01Z" }), false],
    ["failed: the policy gave up", run({ phase: "Failed", exitCode: 1 }, { restartPolicy: { name: "on-failure", maxRetries: 3 } }), true],
    ["on-failure after exit 0", run({}, { restartPolicy: { name: "on-failure", maxRetries: 0 } }), true],
    ["on-failure after exit 2", run({ exitCode: 2 }, { restartPolicy: { name: "on-failure", maxRetries: 0 } }), false],
    ["always, exited", run({}, { restartPolicy: { name: "always", maxRetries: 0 } }), false],
    ["unless-stopped, exited", run({}, { restartPolicy: { name: "unless-stopped", maxRetries: 0 } }), false],
    ["terminating (being deleted)", run({ reason: "Terminating" }), false],
  ])("%s: %s", (_what, view, chosen) => {
    expect(containersToPrune([view], [], NOW).length).toBe(chosen ? 1 : 0);
    if (view.metadata.stack === "run") expect(exitedForGood(view)).toBe(chosen);
  });

  it("filters: label and until (the object's creation)", () => {
    const v = run({}, {}, { labels: { job: "x" }, createdAt: "2024-05-01T10:00:00.000Z" });
    const pick = (f: string[]) => containersToPrune([v], parseFilters(f, ["label", "until"], ["label"]), NOW).length;
    expect(pick(["label=job=x"])).toBe(1);
    expect(pick(["label!=job"])).toBe(0);
    expect(pick(["until=1h"])).toBe(1);
    expect(pick(["until=3h"])).toBe(0);
  });
});

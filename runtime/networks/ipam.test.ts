import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCidr } from "./cidr.js";
import { Ipam } from "./ipam.js";

const dirs: string[] = [];
const fileIn = () => {
  const d = mkdtempSync(path.join(tmpdir(), "berth-ipam-"));
  dirs.push(d);
  return path.join(d, "networks", "ipam.json");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("Ipam", () => {
  it("carves networks from the pools in order, skipping what the host and other networks use", async () => {
    const ipam = await Ipam.open(fileIn(), { reserved: () => [parseCidr("172.17.0.0/16"), parseCidr("172.19.5.0/24")] });
    expect(await ipam.allocateNetwork("a")).toMatchObject({ subnet: "172.18.0.0/16", gateway: "172.18.0.1" });
    expect(await ipam.allocateNetwork("b")).toMatchObject({ subnet: "172.20.0.0/16", gateway: "172.20.0.1" });
    expect(await ipam.allocateNetwork("a")).toMatchObject({ subnet: "172.18.0.0/16" }); // idempotent
    await expect(ipam.allocateNetwork("a", { subnet: "10.9.0.0/24" })).rejects.toMatchObject({ kind: "Conflict" });
  });

  it("takes an explicit subnet and gateway, refusing overlaps with a clear message", async () => {
    const ipam = await Ipam.open(fileIn(), { reserved: () => [parseCidr("10.0.0.0/8")] });
    expect(await ipam.allocateNetwork("x", { subnet: "192.168.50.0/24", gateway: "192.168.50.254" })).toMatchObject({ gateway: "192.168.50.254" });
    await expect(ipam.allocateNetwork("y", { subnet: "192.168.50.128/25" })).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("overlaps network x (192.168.50.0/24)") });
    await expect(ipam.allocateNetwork("z", { subnet: "10.1.0.0/16" })).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("overlaps the host's 10.0.0.0/8") });
    await expect(ipam.allocateNetwork("w", { subnet: "192.168.60.0/24", gateway: "192.168.61.1" })).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(ipam.allocateNetwork("v", { subnet: "192.168.70.0/24", gateway: "192.168.70.255" })).rejects.toMatchObject({ message: expect.stringContaining("broadcast") });
  });

  it("hands out addresses sequentially, never the network, gateway or broadcast, one per owner", async () => {
    const ipam = await Ipam.open(fileIn(), { pools: [{ base: "10.5.0.0/29", size: 29 }] });
    await ipam.allocateNetwork("n"); // 10.5.0.0/29: hosts .1–.6, gateway .1
    const got = [];
    for (const o of ["c1", "c2", "c3", "c4", "c5"]) got.push(await ipam.allocateAddress("n", o));
    expect(got).toEqual(["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"]);
    expect(await ipam.allocateAddress("n", "c3")).toBe("10.5.0.4"); // idempotent per owner
    await expect(ipam.allocateAddress("n", "c6")).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("full") });
    await ipam.releaseAddress("n", "c2");
    await ipam.releaseAddress("n", "c2"); // idempotent
    expect(await ipam.allocateAddress("n", "c7")).toBe("10.5.0.3"); // wraps to the freed one
    await expect(ipam.allocateAddress("n", "c8", "10.5.0.4")).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("in use by c3") });
    await expect(ipam.allocateAddress("n", "c8", "10.5.0.1")).rejects.toMatchObject({ kind: "Conflict", message: expect.stringContaining("gateway") });
    await expect(ipam.allocateAddress("nope", "c8")).rejects.toMatchObject({ kind: "NotFound" });
  });

  it("survives a restart with the same allocations (no duplicate, no leak)", async () => {
    const file = fileIn();
    const a = await Ipam.open(file);
    await a.allocateNetwork("front");
    const web = await a.allocateAddress("front", "container/web");
    const api = await a.allocateAddress("front", "container/api");
    const b = await Ipam.open(file);
    expect(b.get("front")?.addresses).toEqual({ "container/web": web, "container/api": api });
    expect(await b.allocateAddress("front", "container/web")).toBe(web);
    const db = await b.allocateAddress("front", "container/db");
    expect([web, api]).not.toContain(db);
  });

  it("concurrent allocations never hand out one address twice", async () => {
    const ipam = await Ipam.open(fileIn());
    await ipam.allocateNetwork("n");
    const addrs = await Promise.all(Array.from({ length: 40 }, (_, i) => ipam.allocateAddress("n", `c${i}`)));
    expect(new Set(addrs).size).toBe(40);
  });

  it("a network with addresses is released only with force", async () => {
    const ipam = await Ipam.open(fileIn());
    await ipam.allocateNetwork("n");
    await ipam.allocateAddress("n", "c1");
    await expect(ipam.releaseNetwork("n")).rejects.toMatchObject({ kind: "FailedPrecondition", message: expect.stringContaining("c1") });
    await ipam.releaseNetwork("n", { force: true });
    await ipam.releaseNetwork("n");
    expect(ipam.list()).toEqual([]);
  });

  it("a failed write changes nothing; an unreadable file is moved aside", async () => {
    const file = fileIn();
    const ipam = await Ipam.open(file);
    await ipam.allocateNetwork("n");
    rmSync(path.dirname(file), { recursive: true, force: true }); // the write's directory is gone
    await expect(ipam.allocateAddress("n", "c1")).rejects.toThrow();
    expect(ipam.get("n")?.addresses).toEqual({});
    const dir = path.dirname(fileIn());
    const bad = path.join(dir, "ipam.json");
    mkdirSync(dir, { recursive: true });
    writeFileSync(bad, "{ torn");
    const again = await Ipam.open(bad);
    expect(again.list()).toEqual([]);
    expect(again.recovery.problem).toBeDefined();
    expect(readdirSync(dir).some((n) => n.startsWith("ipam.json.corrupt-"))).toBe(true);
  });
});

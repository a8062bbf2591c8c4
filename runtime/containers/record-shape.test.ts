import { describe, expect, it } from "vitest";
import { testSpec } from "../testing/create-spec.js";
import { identityOf, identityProblem, parseRecord, recordProblem } from "./record-shape.js";
import type { ContainerRecord } from "./records.js";

const ID = "a".repeat(64);
const CHAIN = `sha256:${"b".repeat(64)}`;

function base(): ContainerRecord {
  return {
    version: 1,
    id: ID,
    name: "web",
    spec: testSpec("web", {
      labels: { app: "web" },
      env: { A: "1" },
      command: ["sleep", "600"],
      mounts: [
        { type: "volume", source: "data", target: "/data", readOnly: false },
        { type: "bind", source: "/srv", target: "/srv", readOnly: true },
        { type: "tmpfs", target: "/tmp", readOnly: false, sizeBytes: 1024, mode: 0o1777 },
      ],
      resources: { memoryBytes: 64 << 20, cpus: 0.5, pids: 100 },
      stopSignal: "SIGINT",
      stopGracePeriodMs: 1000,
    }),
    imageDigest: `sha256:${"c".repeat(64)}`,
    imageConfig: { Env: ["PATH=/bin"], Cmd: ["sh"], Entrypoint: null, Labels: { x: "y" }, ExposedPorts: { "80/tcp": {} } },
    chainIds: [CHAIN],
    cgroupsPath: `/berth/${ID}`,
    createdAt: "2026-12-01T10:00:00.000Z",
    status: "running",
    pid: 1234,
    pidStartTime: "5678",
    conmonPid: 1200,
    conmonStartTime: "5600",
    bootId: "3d8b66f7-d6d7-48fc-a597-055f6c8c8f9f",
    startedAt: "2026-12-01T10:00:01.000Z",
    oomKilled: false,
    volumes: ["data"],
  };
}

/** A mutation of the base record (JSON-shaped: anything may be put anywhere). */
type Mutation = (r: Record<string, any>) => void;

describe("container record shape", () => {
  it("accepts the base record, an exited one, and unknown fields (a newer berth may add some)", () => {
    expect(recordProblem(base(), ID)).toBeUndefined();
    const exited: Record<string, unknown> = { ...base(), status: "exited", exitCode: 137, finishedAt: "2026-12-01T10:00:02.000Z", reason: "x", future: { a: 1 } };
    delete exited.pid;
    expect(recordProblem(exited, ID)).toBeUndefined();
  });

  it.each<[string, Mutation, string]>([
    ["id of another type", (r) => (r.id = 3), "id: expected a container id (64 hex characters), got number 3"],
    ["id of another container", (r) => (r.id = "f".repeat(64)), `id: ${"f".repeat(64)} is not the record's directory ${ID}`],
    ["no version", (r) => delete r.version, "version: missing"],
    ["another version", (r) => (r.version = 2), "version: expected 1, got number 2"],
    ["unknown status", (r) => (r.status = "paused"), 'status: expected "created" or "running" or "exited", got string "paused"'],
    ["a name that is no name", (r) => (r.name = "../etc"), 'name: expected a valid name, got string "../etc"'],
    ["a spec of another name", (r) => (r.spec.name = "db"), "spec.name: db is not the record's name web"],
    ["no spec", (r) => delete r.spec, "spec: missing"],
    ["spec as a string", (r) => (r.spec = "{}"), 'spec: expected an object, got string "{}"'],
    ["a label that is no string", (r) => (r.spec.labels.app = 1), "spec.labels.app: expected a string, got number 1"],
    ["env as a list", (r) => (r.spec.env = ["A=1"]), "spec.env: expected an object, got an array"],
    ["a command with a number", (r) => (r.spec.command = ["sleep", 600]), "spec.command[1]: expected a string, got number 600"],
    ["a mount of no known type", (r) => (r.spec.mounts[0].type = "nfs"), 'spec.mounts[0].type: expected "volume", "bind" or "tmpfs", got string "nfs"'],
    ["a volume mount of a bad name", (r) => (r.spec.mounts[0].source = "/x"), 'spec.mounts[0].source: expected a valid name, got string "/x"'],
    ["a tmpfs size that is no integer", (r) => (r.spec.mounts[2].sizeBytes = 1.5), "spec.mounts[2].sizeBytes: expected an integer, got number 1.5"],
    ["an unknown network mode", (r) => (r.spec.networkMode = "container:../x"), 'spec.networkMode: expected "host", "none", "bridge" or "container:<id>", got string "container:../x"'],
    ["cpus as a string", (r) => (r.spec.resources.cpus = "1"), 'spec.resources.cpus: expected a number, got string "1"'],
    ["privileged missing", (r) => delete r.spec.privileged, "spec.privileged: missing"],
    ["a null optional field", (r) => (r.spec.user = null), "spec.user: expected a string, got null"],
    ["image Cmd of numbers", (r) => (r.imageConfig.Cmd = [1]), "imageConfig.Cmd[0]: expected a string, got number 1"],
    ["a chain id that is no digest", (r) => (r.chainIds = ["../../x"]), 'chainIds[0]: expected a sha256 digest, got string "../../x"'],
    ["a cgroup path that climbs", (r) => (r.cgroupsPath = "/berth/../x"), 'cgroupsPath: expected a cgroup path, got string "/berth/../x"'],
    ["a pid that is no integer", (r) => (r.pid = "1234"), 'pid: expected an integer, got string "1234"'],
    ["oomKilled missing", (r) => delete r.oomKilled, "oomKilled: missing"],
    ["a volume of a bad name", (r) => (r.volumes = ["Data"]), 'volumes[0]: expected a valid name, got string "Data"'],
  ])("%s", (_what, mutate, problem) => {
    const r = base() as unknown as Record<string, any>;
    mutate(r);
    expect(recordProblem(r, ID)).toBe(problem);
  });

  it("parseRecord: the record, or the problem of a text that is empty, not JSON, or of another shape; never throws", () => {
    const text = JSON.stringify(base());
    expect(parseRecord(text, ID)).toEqual({ record: base() });
    expect(parseRecord("", ID)).toEqual({ problem: "empty file" });
    expect(parseRecord(" \n", ID)).toEqual({ problem: "empty file" });
    expect(parseRecord(text.slice(0, 40), ID)).toEqual({ problem: expect.stringMatching(/^not JSON: /) });
    expect(parseRecord('{"id": 3}', ID)).toEqual({ problem: "version: missing" });
    expect(parseRecord("null", ID)).toEqual({ problem: ": expected an object, got null" });
    expect(parseRecord("[]", ID)).toEqual({ problem: ": expected an object, got an array" });
  });

  it("the identity is the fixed part, and checks alone (no status, pids or times)", () => {
    const identity = identityOf(base());
    expect(Object.keys(identity).sort()).toEqual(["cgroupsPath", "chainIds", "createdAt", "id", "imageConfig", "imageDigest", "name", "spec", "version", "volumes"]);
    expect(identityProblem(JSON.parse(JSON.stringify(identity)), ID)).toBeUndefined();
    expect(identityProblem(identity, "f".repeat(64))).toMatch(/is not the record's directory/);
    expect(identityProblem({ ...identity, spec: undefined }, ID)).toBe("spec: missing");
  });
});

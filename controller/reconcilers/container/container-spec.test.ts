import { describe, expect, it } from "vitest";
import type { ContainerObject } from "../../manifests/model.js";
import { load } from "../../manifests/testing.js";
import { anonymousVolumeName, toCreateSpec } from "./container-spec.js";

const obj = (spec: string) =>
  load(`apiVersion: berth/v1\nkind: Container\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  image: busybox\n${spec}`).objects[0] as ContainerObject;

describe("toCreateSpec", () => {
  it("maps the normalized spec, with ownership labels and env files under env", () => {
    const o = obj(
      "  command: [httpd, -f]\n  env: {A: from-env}\n  envFiles: [./a.env]\n  networkMode: host\n  mounts: ['data:/d:ro', '/anon', {type: tmpfs, target: /t, size: 1Mi}, './site:/www']\n  resources: {memory: 64Mi, cpus: 0.5}\n  stopSignal: INT\n  user: app\n",
    );
    const spec = toCreateSpec(o, { stack: "s", specHash: "h", network: { networkMode: "host" }, envFiles: { "/base/a.env": [{ name: "A", value: "from-file" }, { name: "B", value: "b" }] } });
    expect(spec).toEqual({
      name: "web",
      image: "docker.io/library/busybox:latest",
      labels: { app: "web", "berth.stack": "s", "berth.object": "container/web", "berth.spec-hash": "h" },
      command: ["httpd", "-f"],
      env: { A: "from-env", B: "b" },
      mounts: [
        { type: "volume", source: "data", target: "/d", readOnly: true },
        { type: "volume", source: anonymousVolumeName("web", "/anon"), target: "/anon", readOnly: false },
        { type: "tmpfs", target: "/t", readOnly: false, sizeBytes: 1024 * 1024 },
        { type: "bind", source: "/base/site", target: "/www", readOnly: false },
      ],
      networkMode: "host",
      resources: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5 },
      stopSignal: "SIGINT",
      stopGracePeriodMs: 10_000,
      readOnlyRootfs: false,
      capAdd: [],
      capDrop: [],
      privileged: false,
      user: "app",
    });
    expect(anonymousVolumeName("web", "/anon")).toMatch(/^web-anon-[a-f0-9]{12}$/);
  });

  it("carries the network fields networking prepared (none without)", () => {
    expect(toCreateSpec(obj(""), { stack: "s", specHash: "h", envFiles: {} }).networkMode).toBe("none");
    const network = { networkMode: "bridge" as const, dns: { nameservers: ["10.89.0.1"], search: [], options: ["ndots:0"] }, hosts: [{ address: "10.89.0.2", names: ["web"] }] };
    expect(toCreateSpec(obj(""), { stack: "s", specHash: "h", envFiles: {}, network })).toMatchObject(network);
  });
});

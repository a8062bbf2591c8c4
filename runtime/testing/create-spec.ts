import type { ContainerCreateSpec } from "../types.js";

/** A create spec with berth's defaults, for tests and benchmarks: `over` replaces what it names. */
export function testSpec(name: string, over: Partial<ContainerCreateSpec> = {}): ContainerCreateSpec {
  return {
    name,
    image: "busybox",
    labels: {},
    env: {},
    mounts: [],
    networkMode: "none",
    resources: {},
    readOnlyRootfs: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    ...over,
  };
}

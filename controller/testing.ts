/** Test fixtures for controller unit tests (excluded from the build). */
import { DEFAULTS, type ContainerObject, type ContainerSpec, type Healthcheck } from "./manifests/model.js";

/** A normalized ContainerSpec with every default applied, like normalize.ts produces. */
export function containerSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: "docker.io/library/busybox:latest",
    command: ["sleep", "infinity"],
    env: [{ name: "A", value: "1" }],
    envFiles: [],
    ports: [],
    mounts: [],
    networks: [],
    restartPolicy: { name: "no", maxRetries: 0, backoff: { ...DEFAULTS.restartBackoff } },
    healthcheckDisabled: false,
    onUnhealthy: "none",
    dependsOn: [],
    resources: {},
    stopGracePeriodMs: DEFAULTS.stopGracePeriodMs,
    readOnlyRootfs: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    ...over,
  };
}

export function healthcheck(over: Partial<Healthcheck> = {}): Healthcheck {
  return { probe: { type: "exec", argv: ["true"] }, ...DEFAULTS.healthcheck, ...over };
}

export function containerObject(name: string, over: Partial<ContainerSpec> = {}, labels: Record<string, string> = {}): ContainerObject {
  return { apiVersion: "berth/v1", kind: "Container", metadata: { name, labels, annotations: {} }, spec: containerSpec(over) };
}

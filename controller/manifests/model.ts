/**
 * The canonical (normalized) form of manifests: every short form expanded, every default
 * applied, durations in ms, sizes in bytes, paths absolute. This is what the desired
 * store keeps and what reconcilers and the spec hash read.
 */
import type { Kind } from "../../schemas/index.js";

export interface ObjectMeta {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Where an object was defined, for messages. */
export interface SourceRef {
  file: string;
  line: number;
  column: number;
}

export interface ManifestObject<K extends Kind = Kind, S = unknown> {
  apiVersion: "berth/v1";
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  source?: SourceRef;
}

// ------------------------------------------------------------------ Image
export type ImageSource =
  | { type: "pull"; reference: string }
  | {
      type: "build";
      context: string;
      dockerfile?: string;
      dockerfileInline?: string;
      args: Record<string, string>;
      target?: string;
    }
  | {
      type: "import";
      path: string;
      format: "auto" | "docker-archive" | "oci-archive" | "oci-dir" | "rootfs";
      config?: ImageConfigChanges;
    };

export interface ImageConfigChanges {
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
  exposedPorts?: string[];
}

export interface ImageSpec {
  /** Normalized reference (`docker.io/library/busybox:latest`). */
  reference: string;
  source: ImageSource;
  pullPolicy: "always" | "ifNotPresent" | "never";
}

// ------------------------------------------------------------------ Container
export interface PortMapping {
  containerPort: number;
  /** Undefined: a free port is chosen. */
  hostPort?: number;
  hostIP?: string;
  protocol: "tcp" | "udp" | "sctp";
}

export type Mount =
  | { type: "volume"; source?: string; target: string; readOnly: boolean }
  | { type: "bind"; source: string; target: string; readOnly: boolean }
  | { type: "tmpfs"; target: string; readOnly: boolean; sizeBytes?: number; mode?: number };

export type Probe =
  | { type: "exec"; argv: string[] }
  | { type: "shell"; command: string }
  | { type: "http"; path: string; port: number; scheme: "http" | "https"; headers: Record<string, string> }
  | { type: "tcp"; port: number };

export interface Healthcheck {
  probe: Probe;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

export type RestartPolicyName = "no" | "on-failure" | "always" | "unless-stopped";

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only; 0 means no limit. */
  maxRetries: number;
  backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
}

export type OnUnhealthy = "restart" | "stop" | "none";
export type DependencyCondition = "started" | "healthy" | "completed";

export interface ContainerSpec {
  image: string;
  command?: string[];
  args?: string[];
  /** In order, later names override earlier ones. */
  env: { name: string; value: string }[];
  envFiles: string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  ports: PortMapping[];
  /** Every port the image EXPOSEs, on free host ports (Docker's -P). */
  publishAll: boolean;
  mounts: Mount[];
  /** `ipv4Address`: a static address on that network (absent: the network's IPAM picks one). */
  networks: { name: string; aliases: string[]; ipv4Address?: string }[];
  networkMode?: string;
  restartPolicy: RestartPolicy;
  healthcheck?: Healthcheck;
  /** True when `healthcheck.disable` turns off any check (image's or attached). */
  healthcheckDisabled: boolean;
  onUnhealthy: OnUnhealthy;
  /**
   * `restart`: restarted when berth restarts or recreates that dependency (present only when
   * true). `required: false`: not waited for when undeclared or failed (present only when false).
   */
  dependsOn: { name: string; condition: DependencyCondition; restart?: true; required?: false }[];
  /** A tiny init (tini) is PID 1 (Docker's --init); present only when true. */
  init?: true;
  /** The main process runs on a pseudo-terminal (Kubernetes' tty); present only when true. */
  tty?: true;
  /** The main process's stdin stays open for attach (Kubernetes' stdin); present only when true. */
  stdin?: true;
  /** With stdin: closed when an attached client ends its input or goes (Kubernetes' stdinOnce); present only when true. */
  stdinOnce?: true;
  /** Extra /etc/hosts lines in order; `address` may be `host-gateway`. Present only when non-empty. */
  extraHosts?: { name: string; address: string }[];
  /** Present only when non-empty (each). */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  resources: { memoryBytes?: number; cpus?: number; pids?: number };
  /** Canonical `SIGTERM` form; undefined: the image's, else SIGTERM. */
  stopSignal?: string;
  stopGracePeriodMs: number;
  readOnlyRootfs: boolean;
  /** Canonical `CAP_NET_ADMIN` form, or `ALL`. */
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
}

// ------------------------------------------------------------------ Volume, Network, HealthCheck
export interface VolumeSpec {
  driver: "local";
  options: { type?: string; device?: string; o?: string; sizeBytes?: number; mode?: number; uid?: number; gid?: number };
}

export interface NetworkSpec {
  driver: "bridge";
  subnet?: string;
  gateway?: string;
  internal: boolean;
}

export interface HealthCheckSpec {
  target: { name: string } | { selector: { matchLabels: Record<string, string> } };
  check: Healthcheck;
  onUnhealthy?: OnUnhealthy;
}

export type ImageObject = ManifestObject<"Image", ImageSpec>;
export type ContainerObject = ManifestObject<"Container", ContainerSpec>;
export type VolumeObject = ManifestObject<"Volume", VolumeSpec>;
export type NetworkObject = ManifestObject<"Network", NetworkSpec>;
export type HealthCheckObject = ManifestObject<"HealthCheck", HealthCheckSpec>;
export type AnyObject = ImageObject | ContainerObject | VolumeObject | NetworkObject | HealthCheckObject;

export const DEFAULTS = {
  healthcheck: { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 },
  restartBackoff: { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 },
  stopGracePeriodMs: 10_000,
} as const;

/** `container/web`. */
export function objectKey(o: { kind: string; metadata: { name: string } }): string {
  return `${o.kind.toLowerCase()}/${o.metadata.name}`;
}

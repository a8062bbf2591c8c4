import { Type } from "@sinclair/typebox";
import { KeyedMap, Duration, ImageReference, Name, ObjectSchema, Port, Size, StringMap } from "./common.js";
import { HealthcheckSpec, OnUnhealthy } from "./healthcheck.js";

/** "80", "8080:80", "127.0.0.1:8080:80/udp", "127.0.0.1::80", "8000-8010:8000-8010", "[::1]:8080:80". */
export const PORT_SHORT_PATTERN =
  "^(?:(?:\\[[0-9a-fA-F:.]+\\]|[0-9]{1,3}(?:\\.[0-9]{1,3}){3}):)?(?:(?:[0-9]+(?:-[0-9]+)?)?:)?[0-9]+(?:-[0-9]+)?(?:/(?:tcp|udp|sctp))?$";
const PORT_SHORT_MESSAGE =
  'expected a port mapping such as "80", "8080:80", "127.0.0.1:8080:80/udp" or "8000-8010:8000-8010"';

const Protocol = Type.Union([Type.Literal("tcp"), Type.Literal("udp"), Type.Literal("sctp")], { description: "Default tcp." });

const PortSpec = Type.Union(
  [
    Type.String({ pattern: PORT_SHORT_PATTERN, patternErrorMessage: PORT_SHORT_MESSAGE }),
    Type.Integer({ minimum: 1, maximum: 65535 }),
    Type.Object(
      {
        containerPort: Port("Port inside the container."),
        hostPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: "Port on the host; 0 or absent picks a free one." })),
        hostIP: Type.Optional(Type.String({ description: "Host address to bind. Default all addresses." })),
        protocol: Type.Optional(Protocol),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "A published port: long form, or a short string like Docker's -p.", errorMessage: PORT_SHORT_MESSAGE },
);

/** "data:/var/lib/x:ro", "./site:/srv:ro", "/abs:/in", "/anonymous". */
export const MOUNT_SHORT_PATTERN = "^[^:\\x00]+(:[^:\\x00]+)?(:(ro|rw))?$";
const MOUNT_SHORT_MESSAGE = 'expected a mount such as "data:/var/lib/x", "./site:/srv:ro" or "/host/path:/in"';

const MountSpec = Type.Union(
  [
    Type.String({ pattern: MOUNT_SHORT_PATTERN, patternErrorMessage: MOUNT_SHORT_MESSAGE }),
    Type.Object(
      {
        type: Type.Union([Type.Literal("volume"), Type.Literal("bind"), Type.Literal("tmpfs")]),
        source: Type.Optional(Type.String({ minLength: 1, description: "Volume name, or host path for bind (relative to the manifest file)." })),
        target: Type.String({ pattern: "^/", patternErrorMessage: "expected an absolute path in the container", description: "Path in the container." }),
        readOnly: Type.Optional(Type.Boolean()),
        size: Type.Optional(Size("tmpfs size limit.")),
        mode: Type.Optional(Type.String({ pattern: "^[0-7]{3,4}$", patternErrorMessage: "expected an octal mode such as 1777", description: "tmpfs mode, octal." })),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "A volume, bind or tmpfs mount.", errorMessage: MOUNT_SHORT_MESSAGE },
);

const EnvName = Type.String({
  pattern: "^[^=\\x00]+$",
  patternErrorMessage: "expected an environment variable name without '='",
});

const EnvSpec = Type.Union(
  [
    KeyedMap(EnvName, Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
    Type.Array(
      Type.Union([
        Type.Object(
          { name: EnvName, value: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])) },
          { additionalProperties: false },
        ),
        Type.String({ pattern: "^[^=\\x00]+(=.*)?$", patternErrorMessage: 'expected "NAME=value"' }),
      ]),
    ),
  ],
  {
    description: "Environment: a map, a list of {name, value}, or a list of NAME=value strings. Values win over the image's.",
    errorMessage: "expected a map of NAME: value, or a list of {name, value} or NAME=value",
  },
);

const RESTART_SHORT_PATTERN = "^(no|always|unless-stopped|on-failure(:[0-9]+)?)$";
const RestartPolicyName = Type.Union(
  [Type.Literal("no"), Type.Literal("on-failure"), Type.Literal("always"), Type.Literal("unless-stopped")],
);
const RestartPolicy = Type.Union(
  [
    Type.String({
      pattern: RESTART_SHORT_PATTERN,
      patternErrorMessage: "expected no, always, unless-stopped, on-failure or on-failure:N",
    }),
    Type.Object(
      {
        name: RestartPolicyName,
        maxRetries: Type.Optional(Type.Integer({ minimum: 0, description: "on-failure only: give up after this many restarts. 0 = no limit." })),
        backoff: Type.Optional(
          Type.Object(
            {
              initial: Type.Optional(Duration("First restart delay. Default 100ms.")),
              max: Type.Optional(Duration("Delay cap; the delay doubles up to it. Default 1m.")),
              resetAfter: Type.Optional(Duration("Running this long resets the delay. Default 10s.")),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description: "When to restart the container after it exits: no (default), on-failure[:maxRetries], always, unless-stopped.",
    errorMessage: "expected no, always, unless-stopped, on-failure, on-failure:N, or {name, maxRetries, backoff}",
  },
);

const DependsOn = Type.Array(
  Type.Union([
    Name("A container this one depends on (condition started)."),
    Type.Object(
      {
        name: Name("The container depended on."),
        condition: Type.Optional(
          Type.Union([Type.Literal("started"), Type.Literal("healthy"), Type.Literal("completed")], {
            description: "started (default), healthy, or completed (exited 0).",
          }),
        ),
        restart: Type.Optional(Type.Boolean({ description: "Restart this container when berth restarts or recreates the dependency (Compose's depends_on restart: true). Default false." })),
        required: Type.Optional(
          Type.Boolean({ description: "false: a dependency that is not declared, or that failed, is not waited for (a warning, as Compose's required: false). Default true." }),
        ),
      },
      { additionalProperties: false },
    ),
  ]),
  { description: "Containers that must reach a condition before this one starts." },
);

const IPV4_PATTERN = "^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$";
const IPV4_OR_6_PATTERN = "^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$";

/** "host:ip" or "host=ip" (Docker's --add-host, Compose's extra_hosts list form); ip may be host-gateway or a bracketed IPv6. */
export const EXTRA_HOST_PATTERN = "^[A-Za-z0-9_]([-A-Za-z0-9_.]*[A-Za-z0-9_])?[:=](host-gateway|\\[?[0-9a-fA-F:.]+\\]?)$";
const EXTRA_HOST_MESSAGE = 'expected "name:address" or "name=address" (address an IP or host-gateway)';

const ExtraHosts = Type.Union(
  [
    Type.Array(Type.String({ pattern: EXTRA_HOST_PATTERN, patternErrorMessage: EXTRA_HOST_MESSAGE })),
    KeyedMap(
      Type.String({ pattern: "^[A-Za-z0-9_]([-A-Za-z0-9_.]*[A-Za-z0-9_])?$", patternErrorMessage: "expected a host name" }),
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))]),
    ),
  ],
  {
    description: "Extra /etc/hosts lines (Docker's --add-host): a list of name:address (or name=address), or a map of name to address(es). host-gateway is the gateway of the container's first network.",
    errorMessage: 'expected a list of "name:address", or a map of name: address',
  },
);

const Networks = Type.Array(
  Type.Union([
    Name("Network name."),
    Type.Object(
      {
        name: Name("Network name."),
        aliases: Type.Optional(Type.Array(Name("Extra DNS name on this network."))),
        ipv4Address: Type.Optional(
          Type.String({
            pattern: IPV4_PATTERN,
            patternErrorMessage: "expected an IPv4 address such as 172.28.0.10",
            description: "The container's static address on this network (Compose's ipv4_address): inside its subnet, not its gateway, not taken.",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ]),
  { description: "Networks to join, by name, with optional aliases." },
);

const Capability = Type.String({
  pattern: "^[A-Za-z_]+$",
  patternErrorMessage: "expected a capability name such as NET_ADMIN or CAP_NET_ADMIN, or ALL",
});

const StringOrArgv = (description: string) =>
  Type.Union([Type.Array(Type.String()), Type.String({ minLength: 1 })], {
    description: `${description} An argv list, or a string split like a shell would (never run by a shell).`,
    errorMessage: "expected a list of strings, or a string",
  });

export const ContainerSpec = Type.Object(
  {
    image: ImageReference("Image reference; an Image object with this reference is made ready first."),
    command: Type.Optional(StringOrArgv("Replaces the image ENTRYPOINT (and drops its CMD unless args is set).")),
    args: Type.Optional(StringOrArgv("Replaces the image CMD.")),
    env: Type.Optional(EnvSpec),
    envFiles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: "Files of NAME=value lines, relative to the manifest file; env wins over them." })),
    workingDir: Type.Optional(Type.String({ pattern: "^/", patternErrorMessage: "expected an absolute path", description: "Working directory; created if missing." })),
    user: Type.Optional(
      Type.String({
        pattern: "^([a-z_][a-z0-9_.-]*\\$?|[0-9]+)(:([a-z_][a-z0-9_.-]*\\$?|[0-9]+))?$",
        patternErrorMessage: 'expected "uid", "uid:gid", "name" or "name:group"',
        description: "User (and group) to run as, by name or number.",
      }),
    ),
    hostname: Type.Optional(
      Type.String({
        pattern: "^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$",
        maxLength: 253,
        patternErrorMessage: "expected a hostname of letters, digits, '-' and '.'",
        description: "Hostname. Default: the container name.",
      }),
    ),
    ports: Type.Optional(Type.Array(PortSpec, { description: "Published ports. Changing them re-programs the host's rules without recreating the container." })),
    publishAll: Type.Optional(Type.Boolean({ description: "Publish every port the image EXPOSEs on a free host port (Docker's -P)." })),
    mounts: Type.Optional(Type.Array(MountSpec, { description: "Volume, bind and tmpfs mounts." })),
    networks: Type.Optional(Networks),
    networkMode: Type.Optional(
      Type.String({
        pattern: "^(host|none|bridge|container:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$",
        patternErrorMessage: "expected host, none, bridge or container:<name>",
        description: "host, none, bridge, or container:<name> to share another container's network.",
      }),
    ),
    restartPolicy: Type.Optional(RestartPolicy),
    healthcheck: Type.Optional(HealthcheckSpec),
    onUnhealthy: Type.Optional(OnUnhealthy),
    dependsOn: Type.Optional(DependsOn),
    init: Type.Optional(Type.Boolean({ description: "Run a tiny init (tini) as PID 1 that forwards signals and reaps zombies (Docker's --init)." })),
    tty: Type.Optional(Type.Boolean({ description: "Run the main process on a pseudo-terminal (Kubernetes' tty, Docker's -t): its output is one stream, logged as stdout; berth attach gets a terminal." })),
    stdin: Type.Optional(Type.Boolean({ description: "Keep the main process's stdin open for berth attach (Kubernetes' stdin, Docker's -i); it is not closed when a client detaches." })),
    stdinOnce: Type.Optional(
      Type.Boolean({
        description: "With stdin and without tty: the main process's stdin is closed when an attached client ends its input or goes (Kubernetes' stdinOnce; what docker run -i does), so that a process reading to EOF ends. A terminal is never closed so. Needs stdin: true.",
      }),
    ),
    extraHosts: Type.Optional(ExtraHosts),
    dns: Type.Optional(
      Type.Array(Type.String({ pattern: IPV4_OR_6_PATTERN, patternErrorMessage: "expected an IP address" }), {
        description: "Nameservers for names that are not containers': on bridge networks the network's resolver forwards to them (as Docker's embedded DNS does); otherwise they are resolv.conf's.",
      }),
    ),
    dnsSearch: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\\.?$", patternErrorMessage: "expected a domain name" }), { description: "resolv.conf search domains." })),
    dnsOptions: Type.Optional(Type.Array(Type.String({ pattern: "^[a-z][a-z0-9_-]*(:[0-9]+)?$", patternErrorMessage: "expected a resolver option such as ndots:2 or edns0" }), { description: "resolv.conf options." })),
    resources: Type.Optional(
      Type.Object(
        {
          memory: Type.Optional(Size("Memory limit; the container is OOM-killed above it.")),
          cpus: Type.Optional(
            Type.Union(
              [Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?$", patternErrorMessage: "expected a number of CPUs such as 0.5" })],
              { description: "CPU limit in CPUs, e.g. 0.5.", errorMessage: "expected a number of CPUs such as 0.5" },
            ),
          ),
          pids: Type.Optional(Type.Integer({ minimum: 1, description: "Maximum number of processes." })),
        },
        { additionalProperties: false, description: "Resource limits." },
      ),
    ),
    stopSignal: Type.Optional(
      Type.String({
        pattern: "^(SIG)?[A-Z0-9+-]+$|^[0-9]+$",
        patternErrorMessage: "expected a signal such as SIGTERM, TERM or 15",
        description: "Signal sent to stop the container. Default the image's, else SIGTERM.",
      }),
    ),
    stopGracePeriod: Type.Optional(Duration("Time between the stop signal and SIGKILL. Default 10s.")),
    readOnlyRootfs: Type.Optional(Type.Boolean({ description: "Mount the root filesystem read-only." })),
    capAdd: Type.Optional(Type.Array(Capability, { description: "Capabilities to add to Docker's default set." })),
    capDrop: Type.Optional(Type.Array(Capability, { description: "Capabilities to drop (ALL drops every one)." })),
    privileged: Type.Optional(Type.Boolean({ description: "Full host privileges. Refused unless berth runs with --allow-privileged." })),
  },
  { additionalProperties: false, description: "A container berth keeps running." },
);

export const ContainerObject = ObjectSchema("Container", ContainerSpec, { description: "A container." });

export { StringMap };

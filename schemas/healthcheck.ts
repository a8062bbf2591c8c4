import { Type } from "@sinclair/typebox";
import { KeyedMap, Duration, Labels, Name, ObjectSchema, Port } from "./common.js";

export const OnUnhealthy = Type.Union([Type.Literal("restart"), Type.Literal("stop"), Type.Literal("none")], {
  description:
    "What berth does when the container turns unhealthy: restart it (the default when a restart policy other than `no` is set), stop it, or only report it.",
});

const probeFields = {
  exec: Type.Optional(
    Type.Array(Type.String(), {
      minItems: 1,
      description: "Run this argv inside the container; exit 0 is healthy.",
    }),
  ),
  shell: Type.Optional(
    Type.String({ minLength: 1, description: "Run this command with /bin/sh -c inside the container; exit 0 is healthy." }),
  ),
  http: Type.Optional(
    Type.Object(
      {
        path: Type.Optional(Type.String({ pattern: "^/", patternErrorMessage: "expected a path starting with '/'", description: "Default /." })),
        port: Port("Container port to send the GET to."),
        scheme: Type.Optional(Type.Union([Type.Literal("http"), Type.Literal("https")], { description: "Default http." })),
        headers: Type.Optional(
          KeyedMap(
            Type.String({
              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
              patternErrorMessage: "expected an HTTP header name",
            }),
            Type.String({ pattern: "^[^\\r\\n\\x00]*$", patternErrorMessage: "expected a header value without line breaks" }),
            { description: "Extra request headers." },
          ),
        ),
      },
      { additionalProperties: false, description: "HTTP GET; a status from 200 to 399 is healthy." },
    ),
  ),
  tcp: Type.Optional(
    Type.Object({ port: Port("Container port to connect to.") }, { additionalProperties: false, description: "TCP connect; a connection is healthy." }),
  ),
  interval: Type.Optional(Duration("Time between probes. Default 30s.")),
  timeout: Type.Optional(Duration("A probe taking longer fails. Default 30s.")),
  retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Consecutive failures that make it unhealthy. Default 3." })),
  startPeriod: Type.Optional(Duration("Failures in this time after start do not count until the first success. Default 0s.")),
  startInterval: Type.Optional(Duration("Time between probes during the start period. Default 5s.")),
  disable: Type.Optional(Type.Boolean({ description: "Turn off any healthcheck, including one from the image or a HealthCheck object." })),
};

/** The inline `healthcheck` of a container. */
export const HealthcheckSpec = Type.Object(probeFields, {
  additionalProperties: false,
  description: "How to probe the container's health: exactly one of exec, shell, http or tcp (or disable: true).",
});

export const HealthCheckTarget = Type.Object(
  {
    name: Type.Optional(Name("The container this check applies to.")),
    selector: Type.Optional(
      Type.Object(
        { matchLabels: Labels("Containers whose labels include all of these.") },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: "Which containers the check applies to: `name` or `selector`." },
);

export const HealthCheckObjectSpec = Type.Object(
  {
    target: HealthCheckTarget,
    ...probeFields,
    onUnhealthy: Type.Optional(OnUnhealthy),
  },
  {
    additionalProperties: false,
    description:
      "A reusable healthcheck, attached to containers by name or label selector. A container's inline healthcheck wins over an attached one.",
  },
);

export const HealthCheckObject = ObjectSchema("HealthCheck", HealthCheckObjectSpec, {
  description: "A healthcheck attached to one or more containers.",
});

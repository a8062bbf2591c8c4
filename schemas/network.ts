import { Type } from "@sinclair/typebox";
import { ObjectSchema } from "./common.js";

const CIDR_PATTERN =
  "^(([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$";
const IP_PATTERN = "^(([0-9]{1,3}\\.){3}[0-9]{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$";

export const NetworkSpec = Type.Object(
  {
    driver: Type.Optional(Type.Literal("bridge", { description: "Only `bridge` for now." })),
    subnet: Type.Optional(Type.String({ pattern: CIDR_PATTERN, patternErrorMessage: "expected a subnet in CIDR notation such as 10.89.0.0/24", description: "Subnet in CIDR notation. Default: a free /24." })),
    gateway: Type.Optional(Type.String({ pattern: IP_PATTERN, patternErrorMessage: "expected an IP address such as 10.89.0.1", description: "Gateway address inside the subnet. Default: the first address." })),
    internal: Type.Optional(Type.Boolean({ description: "No route to the outside world." })),
  },
  { additionalProperties: false, description: "A user-defined network. An empty spec means a bridge with a free subnet." },
);

export const NetworkObject = ObjectSchema("Network", NetworkSpec, { specOptional: true, description: "A network containers can join." });

import { Type } from "@sinclair/typebox";
import { ObjectSchema, Size } from "./common.js";

export const VolumeSpec = Type.Object(
  {
    driver: Type.Optional(Type.Literal("local", { description: "Only `local` for now." })),
    options: Type.Optional(
      Type.Object(
        {
          type: Type.Optional(Type.String({ pattern: "^[a-z0-9]+$", patternErrorMessage: "expected a filesystem type such as tmpfs", description: "Filesystem type to mount, e.g. tmpfs. Default: a plain directory." })),
          device: Type.Optional(Type.String({ minLength: 1, description: "Device or source for `type`." })),
          o: Type.Optional(Type.String({ description: "Mount options, comma separated (as docker volume create --opt o=...)." })),
          size: Type.Optional(Size("Size limit (tmpfs).")),
          mode: Type.Optional(Type.String({ pattern: "^[0-7]{3,4}$", patternErrorMessage: "expected an octal mode such as 0755", description: "Mode of the volume root, octal." })),
          uid: Type.Optional(Type.Integer({ minimum: 0 })),
          gid: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false, description: "Driver options." },
      ),
    ),
  },
  { additionalProperties: false, description: "A named volume. An empty spec means a local directory volume." },
);

export const VolumeObject = ObjectSchema("Volume", VolumeSpec, { specOptional: true, description: "A named volume." });

import { Type } from "@sinclair/typebox";
import { KeyedMap, ImageReference, ObjectSchema, StringMap } from "./common.js";

const ImageConfigChanges = Type.Object(
  {
    entrypoint: Type.Optional(Type.Array(Type.String())),
    cmd: Type.Optional(Type.Array(Type.String())),
    env: Type.Optional(StringMap("Environment variables of the image.")),
    workingDir: Type.Optional(Type.String({ pattern: "^/", patternErrorMessage: "expected an absolute path" })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    labels: Type.Optional(KeyedMap(Type.String(), Type.String())),
    stopSignal: Type.Optional(Type.String()),
    exposedPorts: Type.Optional(Type.Array(Type.String({ pattern: "^[0-9]{1,5}(/(tcp|udp|sctp))?$" }))),
  },
  { additionalProperties: false, description: "Image config to set, like `docker import --change`." },
);

export const ImageSpec = Type.Object(
  {
    reference: Type.Optional(
      ImageReference("The image reference this object produces (name:tag), used by containers' `image`. Default: the pull reference."),
    ),
    pull: Type.Optional(ImageReference("Pull this reference from its registry.")),
    build: Type.Optional(
      Type.Object(
        {
          context: Type.String({ minLength: 1, description: "Build context directory, relative to the manifest file." }),
          dockerfile: Type.Optional(Type.String({ minLength: 1, description: "Dockerfile path inside the context. Default Dockerfile." })),
          dockerfileInline: Type.Optional(Type.String({ minLength: 1, description: "Dockerfile text, instead of a file." })),
          args: Type.Optional(StringMap("Build arguments (ARG).")),
          target: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$", patternErrorMessage: "expected a build stage name" })),
        },
        { additionalProperties: false, description: "Build from a Dockerfile." },
      ),
    ),
    import: Type.Optional(
      Type.Object(
        {
          path: Type.String({ minLength: 1, description: "Archive path, relative to the manifest file." }),
          format: Type.Optional(
            Type.Union(
              [Type.Literal("auto"), Type.Literal("docker-archive"), Type.Literal("oci-archive"), Type.Literal("oci-dir"), Type.Literal("rootfs")],
              { description: "auto (default) detects it: a `docker save` archive, an OCI layout (tar or directory), or a plain rootfs tarball." },
            ),
          ),
          config: Type.Optional(ImageConfigChanges),
        },
        { additionalProperties: false, description: "Import an archive: `docker save` output, an OCI layout, or a rootfs tarball." },
      ),
    ),
    pullPolicy: Type.Optional(
      Type.Union([Type.Literal("always"), Type.Literal("ifNotPresent"), Type.Literal("never")], {
        description: "When to fetch/build/import: always, ifNotPresent (default), never (must already be in the store).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Where an image comes from: exactly one of pull, build or import.",
    oneOf: [{ required: ["pull"] }, { required: ["build"] }, { required: ["import"] }],
  },
);

export const ImageObject = ObjectSchema("Image", ImageSpec, { description: "An image berth makes available locally." });

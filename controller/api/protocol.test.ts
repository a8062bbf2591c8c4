import { describe, expectTypeOf, it } from "vitest";
import type { ErrorKind, ObjectRef } from "../../lib/errors.js";
import type { Kind } from "../../schemas/kinds.js";
import type * as runtime from "../../runtime/types.js";
import type { Diagnostic } from "../manifests/diagnostics.js";
import type { ManifestText } from "../manifests/load.js";
import type { BuildEvent } from "../../runtime/build/executor/builder.js";
import type { BlobProgress, RegistryProgress } from "../../runtime/registry/types.js";
import type {
  ApplyRequest,
  ApplyResponse,
  ChangeEntry,
  ErrorBody,
  ExecResult,
  ImageBuildEvent,
  ImageHistoryEntry,
  ImageRecord,
  ImageTransferEvent,
  LayerChange,
  LogLine,
  ObjectView,
} from "./protocol.js";

// The wire types are derived from schemas/api.ts; these are the types the two ends hand them
// to and from. They must stay the same (tsc checks this file; at run time it does nothing).
describe("wire types and the types either end uses", () => {
  it("agree", () => {
    expectTypeOf<ImageRecord>().toEqualTypeOf<runtime.ImageRecord>();
    expectTypeOf<ExecResult>().toEqualTypeOf<runtime.ExecResult>();
    expectTypeOf<LogLine>().toEqualTypeOf<runtime.LogLine>();
    expectTypeOf<LayerChange>().toEqualTypeOf<runtime.LayerChange>();
    expectTypeOf<ImageHistoryEntry>().toEqualTypeOf<runtime.ImageHistoryEntry>();
    expectTypeOf<Exclude<ImageBuildEvent, { type: "error" }>>().toEqualTypeOf<BuildEvent>();
    expectTypeOf<Omit<Extract<ImageTransferEvent, { kind: "blob" }>, "kind">>().toEqualTypeOf<BlobProgress>();
    expectTypeOf<Extract<ImageTransferEvent, { kind: "resolved" | "unpacked" | "endpoint-failed" }>>().toEqualTypeOf<Exclude<RegistryProgress, { kind: "blob" }>>();
    expectTypeOf<ApplyResponse["diagnostics"][number]>().toEqualTypeOf<Diagnostic>();
    expectTypeOf<ApplyRequest["files"][number]>().toEqualTypeOf<ManifestText>();
    expectTypeOf<ChangeEntry["kind"]>().toEqualTypeOf<Kind>();
    expectTypeOf<ObjectView["kind"]>().toEqualTypeOf<Kind>();
    expectTypeOf<ErrorBody["error"]["kind"]>().toEqualTypeOf<ErrorKind>();
    expectTypeOf<NonNullable<ErrorBody["error"]["object"]>>().toEqualTypeOf<ObjectRef>();
  });
});

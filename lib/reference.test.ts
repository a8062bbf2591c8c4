import { describe, expect, it } from "vitest";
import { familiarReference, normalizeReference, parseReference } from "./reference.js";

describe("image references", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["user/app", "docker.io/user/app:latest"],
    ["localhost/web:1", "localhost/web:1"],
    ["localhost:5000/a/b:c", "localhost:5000/a/b:c"],
    ["registry.example.com/x", "registry.example.com/x:latest"],
    ["127.0.0.1:5000/x:2", "127.0.0.1:5000/x:2"],
    [`busybox@sha256:${"a".repeat(64)}`, `docker.io/library/busybox@sha256:${"a".repeat(64)}`],
  ])("%s normalizes to %s", (ref, want) => expect(normalizeReference(ref)).toBe(want));

  it.each(["", "Busybox", "UPPER/case", "a/../b", "a b", "busybox:", ":tag", "a;rm -rf", "x/Y", "-a", "busybox:-x", "a//b", `${"a".repeat(256)}`])(
    "rejects %j",
    (ref) => expect(parseReference(ref)).toBeUndefined(),
  );

  it("shows familiar names", () => {
    expect(familiarReference("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarReference("docker.io/user/app:1")).toBe("user/app:1");
    expect(familiarReference("localhost/web:1")).toBe("localhost/web:1");
  });
});

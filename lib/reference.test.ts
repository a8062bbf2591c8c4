import { describe, expect, it } from "vitest";
import {
  familiarReference,
  familiarReference as fam,
  IMAGE_REFERENCE_PATTERN,
  isImageReference,
  normalizeReference,
  normalizeReference as norm,
  normalizeTaggedReference,
  parseReference,
} from "./reference.js";

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
  ])("%s normalizes to %s", (ref, want) => expect(norm(ref)).toBe(want));

  it.each(["", "Busybox", "x/UPPER", "a/../b", "a b", "busybox:", ":tag", "a;rm -rf", "x/Y", "-a", "busybox:-x", "a//b", `${"a".repeat(256)}`])(
    "rejects %j",
    (ref) => {
      expect(isImageReference(ref)).toBe(false);
      if (ref.length <= 255) expect(new RegExp(IMAGE_REFERENCE_PATTERN).test(ref)).toBe(false);
    },
  );

  it("the schema pattern accepts what the parser accepts", () => {
    const re = new RegExp(IMAGE_REFERENCE_PATTERN);
    for (const ref of ["busybox", "busybox:1.36", "user/app", "localhost/web:1", "localhost:5000/a/b:c", "registry.example.com/x", "127.0.0.1:5000/x:2", `busybox@sha256:${"a".repeat(64)}`, "[::1]:5000/x", "UPPER/case"]) {
      expect(isImageReference(ref), ref).toBe(true);
      expect(re.test(ref), ref).toBe(true);
    }
  });

  it("shows familiar names", () => {
    expect(fam("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(fam("docker.io/user/app:1")).toBe("user/app:1");
    expect(fam("localhost/web:1")).toBe("localhost/web:1");
  });
});

const D = "sha256:" + "a".repeat(64);

describe("normalizeReference", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["user/app:v1", "docker.io/user/app:v1"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/busybox", "docker.io/library/busybox:latest"],
    ["localhost/x:1", "localhost/x:1"],
    ["localhost:5000/a/b", "localhost:5000/a/b:latest"],
    ["ghcr.io/org/img:tag", "ghcr.io/org/img:tag"],
    ["Registry.Example.com/x", "Registry.Example.com/x:latest"],
    ["[::1]:5000/x:y", "[::1]:5000/x:y"],
    ["192.168.1.1:5000/a", "192.168.1.1:5000/a:latest"],
    ["a__b/c-d.e_f", "docker.io/a__b/c-d.e_f:latest"],
    ["a---b", "docker.io/library/a---b:latest"],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
  ])("%s → %s", (input, want) => expect(normalizeReference(input)).toBe(want));

  it.each([
    ["", /empty/],
    ["Busybox", /lowercase/],
    ["user/App", /lowercase/],
    ["a".repeat(64).replace(/a/g, "f"), /image ID/],
    ["busybox:", /invalid reference/],
    [":tag", /invalid reference/],
    ["a//b", /invalid reference/],
    ["a/", /invalid reference/],
    ["-a", /invalid reference/],
    ["a_-b", /invalid reference/],
    ["a:b:c", /invalid reference/],
    ["a@sha256:abc", /invalid reference/],
    [`a@sha512:${"a".repeat(128)}`, /sha256/],
    [`a@sha256:${"A".repeat(64)}`, /sha256/],
    ["busybox:" + "x".repeat(129), /invalid reference/],
    ["a b", /invalid reference/],
    ["../etc/passwd", /invalid reference/],
    ["x/" + "a".repeat(260), /longer than 255/],
  ])("rejects %j", (input, err) => expect(() => parseReference(input)).toThrow(err));

  it("keeps a digest-only reference without a tag", () => {
    expect(parseReference(`busybox@${D}`).tag).toBeUndefined();
  });

  it("refuses a digest where a tag is needed", () => {
    expect(() => normalizeTaggedReference(`busybox@${D}`)).toThrow(/cannot name a tag/);
  });

  it("familiar form", () => {
    expect(familiarReference("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarReference("docker.io/user/x:1")).toBe("user/x:1");
    expect(familiarReference("localhost/x:1")).toBe("localhost/x:1");
  });
});

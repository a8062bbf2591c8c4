import { describe, expect, it } from "vitest";
import { Problems } from "../problems.js";
import { parseMountShortSyntax } from "./mounts.js";

function parse(text: string) {
  const p = new Problems();
  const mounts = parseMountShortSyntax(text, ["mounts", 0], "/base", p);
  return { mounts, errors: p.errors.map((e) => e.message) };
}

describe("parseMountShortSyntax", () => {
  it("tells binds, named volumes and anonymous volumes apart", () => {
    expect(parse("./site:/www:ro")).toEqual({ mounts: [{ type: "bind", source: "/base/site", target: "/www", readOnly: true }], errors: [] });
    expect(parse("data:/var/lib/x/").mounts).toEqual([{ type: "volume", source: "data", target: "/var/lib/x", readOnly: false }]);
    expect(parse("/anon:rw").mounts).toEqual([{ type: "volume", target: "/anon", readOnly: false }]);
  });

  it("reports one problem and no mount for a bad source or target", () => {
    expect(parse("~/x:/y")).toEqual({ mounts: [], errors: ["'~' is not expanded in bind sources"] });
    expect(parse("Bad_Name:/z").errors).toEqual([`volume name "Bad_Name" is not valid: expected lowercase letters, digits and '-'`]);
    expect(parse("v:rel").errors).toEqual(['expected an absolute path in the container, got "rel"']);
    expect(parse("v:/a/../b").errors).toEqual([`mount target must not contain '..', got "/a/../b"`]);
    expect(parse("v:/").errors).toEqual(["cannot mount over the container's root directory"]);
  });
});

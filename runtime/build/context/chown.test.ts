import { describe, expect, it } from "vitest";
import { identityLookupFromFiles, parseChmod, resolveChown } from "./chown.js";

const passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:abc:1\napp:x:5:5::/:/bin/false\n";
const group = "root:x:0:\nstaff:x:50:app\napp:x:1001:\n";
const lookup = identityLookupFromFiles(passwd, group);

describe("resolveChown", () => {
  it.each([
    ["0", { uid: 0, gid: 0 }],
    ["1000", { uid: 1000, gid: 1000 }], // a numeric user without group: gid = uid
    ["10:11", { uid: 10, gid: 11 }],
    ["app", { uid: 1000, gid: 1001 }], // a named user without group: its primary group
    ["app:staff", { uid: 1000, gid: 50 }],
    ["app:7", { uid: 1000, gid: 7 }],
    ["55:staff", { uid: 55, gid: 50 }],
    ["root:root", { uid: 0, gid: 0 }],
  ])("%j → %j", async (spec, want) => expect(await resolveChown(spec, lookup, "COPY")).toEqual(want));

  it.each([
    ["nobody", "COPY --chown=nobody: no user nobody in the image's /etc/passwd"],
    ["app:nogroup", "COPY --chown=app:nogroup: no group nogroup in the image's /etc/group"],
    ["a:b:c", "COPY --chown=a:b:c: invalid chown string format (user[:group])"],
    [":staff", "COPY --chown=:staff: invalid chown string format (user[:group])"],
    ["app:", "COPY --chown=app:: invalid chown string format (user[:group])"],
    ["4294967295", "COPY --chown=4294967295: id 4294967295 is out of range"],
    ["broken", "COPY --chown=broken: no user broken in the image's /etc/passwd"],
  ])("refuses %j", async (spec, message) => {
    await expect(resolveChown(spec, lookup, "COPY")).rejects.toMatchObject({ kind: "InvalidArgument", message });
  });

  it("resolves numeric ids without any files", async () => {
    expect(await resolveChown("3:4", identityLookupFromFiles(undefined, undefined), "ADD")).toEqual({ uid: 3, gid: 4 });
  });
});

describe("parseChmod", () => {
  it.each([
    ["644", 0o644],
    ["0755", 0o755],
    ["4755", 0o4755],
    ["7", 0o7],
  ])("%j → %o", (spec, want) => expect(parseChmod(spec, "COPY")).toBe(want));

  it.each(["u+x", "888", "17777", "", "0o644"])("refuses %j", (spec) =>
    expect(() => parseChmod(spec, "COPY")).toThrow(`COPY --chmod=${spec}: not an octal mode up to 7777 (symbolic modes are not supported)`),
  );
});

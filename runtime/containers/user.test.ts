import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseGroup, parsePasswd, resolveUser, resolveUserInRootfs } from "./user.js";

const passwd = parsePasswd("root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n");
const groups = parseGroup("root:x:0:\nstaff:x:50:app,web\nwww:x:33:\napp:x:1000:\nbad:x:zz:\n");

describe("resolveUser", () => {
  it.each([
    [undefined, { uid: 0, gid: 0, additionalGids: [0], home: "/root", name: "root" }],
    ["", { uid: 0, gid: 0, additionalGids: [0], home: "/root", name: "root" }],
    ["app", { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: "/home/app", name: "app" }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: "/home/app", name: "app" }],
    ["app:staff", { uid: 1000, gid: 50, additionalGids: [50], home: "/home/app", name: "app" }],
    ["app:33", { uid: 1000, gid: 33, additionalGids: [33, 50], home: "/home/app", name: "app" }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [0], home: "/" }],
    ["4242:4243", { uid: 4242, gid: 4243, additionalGids: [4243], home: "/" }],
  ])("%j", (user, want) => {
    expect(resolveUser(user, passwd, groups)).toEqual(want);
  });

  it.each(["ghost", "app:ghosts", "a:b:c", "app:", "-1"])("rejects %j", (user) => {
    expect(() => resolveUser(user, passwd, groups)).toThrow(expect.objectContaining({ kind: "InvalidArgument" }));
  });

  it("skips malformed lines", () => {
    expect(passwd.map((p) => p.name)).toEqual(["root", "app", "web"]);
    expect(groups.map((g) => g.name)).toEqual(["root", "staff", "www", "app"]);
  });
});

describe("resolveUserInRootfs", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "berth-user-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the rootfs's files", async () => {
    await mkdir(path.join(dir, "root", "etc"), { recursive: true });
    await writeFile(path.join(dir, "root", "etc", "passwd"), "app:x:7:8::/h:/bin/sh\n");
    expect(await resolveUserInRootfs(path.join(dir, "root"), "app")).toMatchObject({ uid: 7, gid: 8 });
  });

  it("never reads the host's /etc/passwd through a symlink", async () => {
    const root = path.join(dir, "root");
    const hostEtc = path.join(dir, "host-etc");
    await mkdir(root);
    await mkdir(hostEtc);
    await writeFile(path.join(hostEtc, "passwd"), "root:x:0:0::/host-root:/bin/sh\nhostonly:x:5:5::/:/bin/sh\n");
    await symlink(hostEtc, path.join(root, "etc")); // absolute: must resolve inside the rootfs
    await expect(resolveUserInRootfs(root, "hostonly")).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(resolveUserInRootfs(root, "0")).resolves.toEqual({ uid: 0, gid: 0, additionalGids: [0], home: "/" });
    await rm(path.join(root, "etc"));
    await mkdir(path.join(root, "etc"));
    await symlink("../../../../../../../../../../../../../" + path.join(hostEtc, "passwd"), path.join(root, "etc", "passwd"));
    await expect(resolveUserInRootfs(root, "0")).resolves.toEqual({ uid: 0, gid: 0, additionalGids: [0], home: "/" });
  });

  it("works without passwd for numeric users", async () => {
    expect(await resolveUserInRootfs(dir, "12:34")).toEqual({ uid: 12, gid: 34, additionalGids: [34], home: "/" });
    await expect(resolveUserInRootfs(dir, "app")).rejects.toMatchObject({ kind: "InvalidArgument" });
  });
});

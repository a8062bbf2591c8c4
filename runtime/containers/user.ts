import { invalidArgument } from "../../lib/errors.js";
import { readFileInRootfsIfExists } from "./rootfs-path.js";

/**
 * `user` strings ("uid", "uid:gid", "name", "name:group", mixes) resolved the way Docker
 * does against the rootfs's /etc/passwd and /etc/group. Parsing and resolution are pure;
 * `resolveUserInRootfs` reads both files with rootfs-path's no-escape reader.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  /** The user name when known (for display and HOME), else undefined. */
  name?: string;
}

const ID_RE = /^[0-9]+$/;
const MAX_ID = 2 ** 32 - 2;

function parseId(text: string): number | undefined {
  if (!ID_RE.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Lines `name:pw:uid:gid:gecos:home:shell`; malformed lines and comments are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 4) continue;
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || "/" });
  }
  return out;
}

/** Lines `name:pw:gid:member,member`; malformed lines and comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 3) continue;
    const gid = parseId(f[2]!);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/**
 * Resolves a user spec. Empty → root. A numeric uid needs no passwd entry (gid 0 then, like
 * Docker); a name must exist in passwd, a group name in group (else InvalidArgument).
 * Supplementary gids are the primary gid followed by every group that lists the user's
 * name as a member (what initgroups(3) gives a login).
 */
export function resolveUser(user: string | undefined, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  const spec = (user ?? "").trim();
  const [userPart = "", groupPart, ...rest] = spec.split(":");
  if (rest.length > 0) throw invalidArgument(`invalid user ${JSON.stringify(user)}: expected user[:group]`);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (userPart === "") {
    uid = 0;
    entry = passwd.find((p) => p.uid === 0);
  } else {
    const n = parseId(userPart);
    if (n !== undefined) {
      uid = n;
      entry = passwd.find((p) => p.uid === n);
    } else {
      entry = passwd.find((p) => p.name === userPart);
      if (!entry) throw invalidArgument(`resolve user ${JSON.stringify(userPart)}: no such user in the image's /etc/passwd`);
      uid = entry.uid;
    }
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (groupPart === "") throw invalidArgument(`invalid user ${JSON.stringify(user)}: empty group`);
    const n = parseId(groupPart);
    if (n !== undefined) gid = n;
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw invalidArgument(`resolve group ${JSON.stringify(groupPart)}: no such group in the image's /etc/group`);
      gid = g.gid;
    }
  }
  const additionalGids: number[] = [gid];
  if (entry) {
    for (const g of groups) {
      if (g.members.includes(entry.name) && g.gid !== gid && !additionalGids.includes(g.gid)) additionalGids.push(g.gid);
    }
  }
  const out: ResolvedUser = { uid, gid, additionalGids, home: entry?.home ?? "/" };
  if (entry) out.name = entry.name;
  return out;
}

/** Cap on /etc/passwd and /etc/group: an image cannot make us read a huge file. */
export const MAX_ACCOUNT_FILE_BYTES = 4 * 1024 * 1024;

/** Reads /etc/passwd and /etc/group from the rootfs (never escaping it; absent = empty) and resolves. */
export async function resolveUserInRootfs(rootfs: string, user: string | undefined): Promise<ResolvedUser> {
  const [pw, gr] = await Promise.all([
    readFileInRootfsIfExists(rootfs, "/etc/passwd", MAX_ACCOUNT_FILE_BYTES),
    readFileInRootfsIfExists(rootfs, "/etc/group", MAX_ACCOUNT_FILE_BYTES),
  ]);
  return resolveUser(user, parsePasswd(pw?.toString("utf8") ?? ""), parseGroup(gr?.toString("utf8") ?? ""));
}

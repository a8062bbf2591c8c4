import { invalidArgument } from "../../../lib/errors.js";

/**
 * The `--chown=` and `--chmod=` flags of COPY/ADD, with BuildKit's rules.
 *
 * `--chown=user[:group]`:
 * - numeric parts are ids as they are (0 ≤ id < 2^32-1, no lookup);
 * - a user name is looked up in the image's /etc/passwd, a group name in its /etc/group
 *   (through the caller's IdentityLookup; the first matching line wins, as Go's user
 *   package reads them);
 * - without a group, a named user gets its primary group from /etc/passwd and a numeric
 *   user gets the same number as gid;
 * - more than one `:`, an empty user or group, or an unknown name is InvalidArgument naming
 *   the flag.
 * `--chmod=` is an octal mode up to 7777 (symbolic modes are not supported here).
 */

export interface Identity {
  uid: number;
  gid: number;
}

/** Name lookups over the image being built (its /etc/passwd and /etc/group). */
export interface IdentityLookup {
  user(name: string): Identity | undefined | Promise<Identity | undefined>;
  group(name: string): number | undefined | Promise<number | undefined>;
}

const MAX_ID = 0xffff_fffe;

export async function resolveChown(spec: string, lookup: IdentityLookup, what: string): Promise<Identity> {
  const flag = `${what} --chown=${spec}`;
  const parts = spec.split(":");
  if (parts.length > 2) throw invalidArgument(`${flag}: invalid chown string format (user[:group])`);
  const [userPart = "", groupPart] = parts;
  if (userPart === "" || groupPart === "") throw invalidArgument(`${flag}: invalid chown string format (user[:group])`);
  let uid: number;
  let gid: number;
  const numericUser = numericId(userPart, flag);
  if (numericUser !== undefined) {
    uid = numericUser;
    gid = numericUser;
  } else {
    const u = await lookup.user(userPart);
    if (!u) throw invalidArgument(`${flag}: no user ${userPart} in the image's /etc/passwd`);
    uid = u.uid;
    gid = u.gid;
  }
  if (groupPart !== undefined) {
    const numericGroup = numericId(groupPart, flag);
    if (numericGroup !== undefined) gid = numericGroup;
    else {
      const g = await lookup.group(groupPart);
      if (g === undefined) throw invalidArgument(`${flag}: no group ${groupPart} in the image's /etc/group`);
      gid = g;
    }
  }
  return { uid, gid };
}

function numericId(part: string, flag: string): number | undefined {
  if (!/^[0-9]+$/.test(part)) return undefined;
  const n = Number(part);
  if (!Number.isSafeInteger(n) || n > MAX_ID) throw invalidArgument(`${flag}: id ${part} is out of range`);
  return n;
}

/** The mode of `--chmod=`, octal only. */
export function parseChmod(spec: string, what: string): number {
  if (!/^[0-7]{1,4}$/.test(spec)) {
    throw invalidArgument(`${what} --chmod=${spec}: not an octal mode up to 7777 (symbolic modes are not supported)`);
  }
  return parseInt(spec, 8);
}

/**
 * An IdentityLookup over the text of /etc/passwd and /etc/group (either may be missing:
 * then only numeric ids resolve). Lines are `name:pw:uid:gid:...` and `name:pw:gid:...`;
 * comments, blank and malformed lines are skipped.
 */
export function identityLookupFromFiles(passwd: string | undefined, group: string | undefined): IdentityLookup {
  const users = new Map<string, Identity>();
  for (const f of fields(passwd, 4)) {
    const uid = idField(f[2]);
    const gid = idField(f[3]);
    if (uid !== undefined && gid !== undefined && !users.has(f[0]!)) users.set(f[0]!, { uid, gid });
  }
  const groups = new Map<string, number>();
  for (const f of fields(group, 3)) {
    const gid = idField(f[2]);
    if (gid !== undefined && !groups.has(f[0]!)) groups.set(f[0]!, gid);
  }
  return { user: (name) => users.get(name), group: (name) => groups.get(name) };
}

function fields(text: string | undefined, min: number): string[][] {
  if (!text) return [];
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"))
    .filter((f) => f.length >= min && f[0] !== "");
}

function idField(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

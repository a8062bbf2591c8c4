import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../../lib/atomic-file.js";
import { invalidArgument } from "../../lib/errors.js";
import { DOCKER_HUB_AUTH_KEY, isDockerHub } from "./hosts.js";

/**
 * Registry credentials, from two files (both optional, both read on every lookup so a
 * `login` or an edit takes effect at once):
 *
 * - berth's own credentials file (written by `login`, 0600, atomically; Docker's shape:
 *   `{"auths": {"<host[:port]>": {"auth": "<base64 user:password>"}}}`), which wins;
 * - a Docker client config (`~/.docker/config.json` of the user running the daemon): its
 *   `auths` entries with a base64 `auth` or `username`/`password`. Keys may be URLs
 *   (`https://index.docker.io/v1/`); they are reduced to host[:port] as Docker does.
 *   `credsStore`/`credHelpers` and `identitytoken` (OAuth2 refresh tokens) are not
 *   supported: such entries are skipped.
 */
export interface Credential {
  username: string;
  password: string;
}

export interface CredentialFiles {
  /** berth's credentials file (read and written). */
  credentialsFile?: string;
  /** A Docker client config.json (read only). */
  dockerConfigFile?: string;
}

const MAX_FILE = 1024 * 1024;

/** `https://index.docker.io/v1/` → `docker.io`; `https://r:5000/v2/` → `r:5000`; Hub aliases → `docker.io`. */
export function credentialKey(keyOrHost: string): string {
  let h = keyOrHost.trim().toLowerCase();
  h = h.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  h = h.split("/")[0] ?? h;
  return isDockerHub(h) ? "docker.io" : h;
}

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
}

function decodeEntry(e: AuthEntry): Credential | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  if (typeof e.auth === "string" && e.auth !== "") {
    const text = Buffer.from(e.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon <= 0) return undefined;
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof e.username === "string" && e.username !== "" && typeof e.password === "string") {
    return { username: e.username, password: e.password };
  }
  return undefined;
}

async function readAuths(file: string | undefined): Promise<Record<string, AuthEntry>> {
  if (!file) return {};
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_FILE) throw invalidArgument(`read credentials ${file}: larger than ${MAX_FILE} bytes`);
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`read credentials ${file}: not valid JSON`, { cause: err });
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (typeof auths !== "object" || auths === null || Array.isArray(auths)) return {};
  return auths as Record<string, AuthEntry>;
}

/** The credential for a registry host (`host[:port]`, `docker.io` or `registry-1.docker.io`), or undefined. */
export async function lookupCredential(files: CredentialFiles, host: string): Promise<Credential | undefined> {
  const want = credentialKey(host);
  for (const file of [files.credentialsFile, files.dockerConfigFile]) {
    const auths = await readAuths(file);
    for (const [key, entry] of Object.entries(auths)) {
      if (credentialKey(key) !== want) continue;
      const c = decodeEntry(entry);
      if (c) return c;
    }
  }
  return undefined;
}

/** The key a credential is stored under in berth's file: Docker's for Hub, host[:port] otherwise. */
function storeKey(host: string): string {
  const k = credentialKey(host);
  return k === "docker.io" ? DOCKER_HUB_AUTH_KEY : k;
}

/** Writes (or replaces) a credential in berth's credentials file: 0600, atomically. */
export async function storeCredential(file: string, host: string, cred: Credential): Promise<void> {
  if (cred.username.includes(":")) throw invalidArgument(`store credentials for ${host}: a user name cannot contain ':'`);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const auths = await readAuths(file);
  for (const k of Object.keys(auths)) if (credentialKey(k) === credentialKey(host)) delete auths[k];
  auths[storeKey(host)] = { auth: Buffer.from(`${cred.username}:${cred.password}`).toString("base64") };
  await writeJsonAtomic(file, { auths }, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

/** Removes a host's credential from berth's file; false when there was none. */
export async function removeCredential(file: string, host: string): Promise<boolean> {
  const auths = await readAuths(file);
  let found = false;
  for (const k of Object.keys(auths)) {
    if (credentialKey(k) === credentialKey(host)) {
      delete auths[k];
      found = true;
    }
  }
  if (found) await writeJsonAtomic(file, { auths }, { mode: 0o600 });
  return found;
}


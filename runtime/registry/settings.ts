import { promises as fs } from "node:fs";
import { isIP } from "node:net";
import { invalidArgument } from "../../lib/errors.js";
import { apiHostOf, hostnameOf, inIpv4Cidr, isDockerHub, isLoopbackHost } from "./hosts.js";

/**
 * The registry part of berth's daemon settings file (berth's /etc/docker/daemon.json; its
 * path is an option of the daemon), read once at open:
 *
 *   {
 *     "registryMirrors": ["https://mirror.example.com"],            // Docker Hub, in order
 *     "mirrors": { "127.0.0.1:5000": ["http://127.0.0.1:5001"] },   // per registry host
 *     "insecureRegistries": ["registry.lan:5000", "10.0.0.0/8"]
 *   }
 *
 * Other keys are ignored here (the file is shared with other settings). A mirror is
 * `scheme://host[:port]` with no path; plain http is allowed for a mirror only when its host
 * is loopback or an insecure registry (the rule every connection follows). Hand-written
 * rather than a JSON Schema for ajv: the checks that matter (URLs, the http rule, CIDRs) are
 * semantic, and ajv would be loaded into the daemon for a three-key file (see
 * runtime/containers/record-shape.ts for the measured cost).
 */
export interface RegistrySettings {
  /** Docker Hub mirrors, tried in order before Docker Hub itself. Origins (`https://host:port`). */
  registryMirrors: string[];
  /** Registry host (`host[:port]`, as in references; `docker.io` for Hub) → mirror origins. */
  mirrors: Record<string, string[]>;
  /** `host[:port]` or IPv4 CIDRs that may be spoken to over plain http. */
  insecureRegistries: string[];
}

export function defaultRegistrySettings(): RegistrySettings {
  return { registryMirrors: [], mirrors: {}, insecureRegistries: [] };
}

const HOST_PORT_RE = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i;

/** True when plain http may be used for `hostPort` (loopback, or listed as insecure). */
export function allowsHttp(settings: Pick<RegistrySettings, "insecureRegistries">, hostPort: string): boolean {
  if (isLoopbackHost(hostPort)) return true;
  const hp = hostPort.toLowerCase();
  const name = hostnameOf(hp);
  for (const entry of settings.insecureRegistries) {
    const e = entry.toLowerCase();
    if (e.includes("/")) {
      if (inIpv4Cidr(name, e)) return true;
    } else if (e === hp || (!/:[0-9]+$/.test(e) && e === name) || apiHostOf(e) === hp) {
      return true;
    }
  }
  return false;
}

/**
 * Validates the registry keys of a parsed settings document. InvalidArgument naming the
 * file and the exact key: `<file>: mirrors["a:1"][0]: "ftp://x" is not an http(s) URL`.
 */
export function validateRegistrySettings(doc: unknown, file = "settings"): RegistrySettings {
  const bad = (at: string, why: string) => invalidArgument(`read registry settings ${file}: ${at}: ${why}`);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad("(top level)", "must be a JSON object");
  const d = doc as Record<string, unknown>;
  const out = defaultRegistrySettings();
  const strings = (v: unknown, at: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw bad(at, "must be an array of strings");
    if (v.length > 64) throw bad(at, "more than 64 entries");
    return v.map((x, i) => {
      if (typeof x !== "string" || x === "") throw bad(`${at}[${i}]`, "must be a non-empty string");
      return x;
    });
  };
  out.insecureRegistries = strings(d.insecureRegistries, "insecureRegistries").map((e, i) => {
    const at = `insecureRegistries[${i}]`;
    if (e.includes("://")) throw bad(at, `${JSON.stringify(e)}: give host[:port] or a CIDR, not a URL`);
    if (e.includes("/")) {
      const [net, bits] = e.split("/");
      if (!net || isIP(net) !== 4 || !/^[0-9]{1,2}$/.test(bits ?? "") || Number(bits) > 32) {
        throw bad(at, `${JSON.stringify(e)} is not an IPv4 CIDR (like 10.0.0.0/8)`);
      }
      return e;
    }
    if (!HOST_PORT_RE.test(e)) throw bad(at, `${JSON.stringify(e)} is not host[:port]`);
    return e.toLowerCase();
  });
  const mirror = (v: string, at: string): string => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw bad(at, `${JSON.stringify(v)} is not a URL (like https://mirror.example.com)`);
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") throw bad(at, `${JSON.stringify(v)} is not an http(s) URL`);
    if (u.username || u.password) throw bad(at, `${JSON.stringify(v)}: credentials do not belong in a mirror URL (use login)`);
    if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) throw bad(at, `${JSON.stringify(v)}: a mirror URL has no path, query or fragment`);
    if (u.protocol === "http:" && !allowsHttp(out, u.host)) {
      throw bad(at, `${JSON.stringify(v)} is plain http to a host that is neither loopback nor in insecureRegistries`);
    }
    return u.origin;
  };
  out.registryMirrors = strings(d.registryMirrors, "registryMirrors").map((m, i) => mirror(m, `registryMirrors[${i}]`));
  if (d.mirrors !== undefined && d.mirrors !== null) {
    if (typeof d.mirrors !== "object" || Array.isArray(d.mirrors)) throw bad("mirrors", 'must be an object {"host[:port]": ["https://mirror"]}');
    for (const [host, list] of Object.entries(d.mirrors as Record<string, unknown>)) {
      const at = `mirrors[${JSON.stringify(host)}]`;
      if (!HOST_PORT_RE.test(host)) throw bad(at, `${JSON.stringify(host)} is not a registry host[:port]`);
      const key = isDockerHub(host.toLowerCase()) ? "docker.io" : host.toLowerCase();
      out.mirrors[key] = strings(list, at).map((m, i) => mirror(m, `${at}[${i}]`));
    }
  }
  return out;
}

/** Reads the settings file; the defaults when it does not exist. InvalidArgument when it is not valid. */
export async function readRegistrySettings(file: string | undefined): Promise<RegistrySettings> {
  if (!file) return defaultRegistrySettings();
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return defaultRegistrySettings();
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`read registry settings ${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateRegistrySettings(doc, file);
}

/** The mirror origins to try, in order, before the registry `domain` (a reference domain) itself. */
export function mirrorsOf(settings: RegistrySettings, domain: string): string[] {
  const key = isDockerHub(domain) ? "docker.io" : domain.toLowerCase();
  const own = settings.mirrors[key] ?? [];
  return key === "docker.io" ? [...settings.registryMirrors, ...own.filter((m) => !settings.registryMirrors.includes(m))] : own;
}

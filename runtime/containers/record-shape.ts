import { DIGEST_RE, ID_RE, isValidName } from "../../lib/names.js";
import type { ContainerRecord } from "./records.js";

/**
 * The shape of a container record (records.ts) and of its fixed part, the identity a run's
 * OCI config carries (spec-builder.ts, `RECORD_ANNOTATION`): checked on every read, so that
 * a record that is truncated, empty or of another shape is found out as such — and
 * quarantined (record-repair.ts) — instead of failing whatever reads it next.
 *
 * What is checked is what the runtime dereferences or passes on: every field's type, the
 * status, names and ids that reach paths and argv (valid names, 64-hex ids, sha256 chain
 * ids). Unknown fields pass (a newer berth may add some). Semantics already checked at
 * create (absolute bind sources, known signals) are checked again where they are used.
 *
 * Hand-written rather than a TypeBox schema compiled by ajv: every open reads every record,
 * so the validator would be loaded in an idle daemon, and TypeBox + ajv's compiler cost
 * about 12 MB of RSS there (measured) against a 59 MB daemon; the build's precompiled
 * validators (schemas/compile-validators.ts) cover manifests and API bodies only.
 */

/** The fields of a record fixed at create: what a run's OCI config carries to rebuild it. */
export type RecordIdentity = Pick<
  ContainerRecord,
  "version" | "id" | "name" | "spec" | "imageDigest" | "imageConfig" | "chainIds" | "cgroupsPath" | "createdAt" | "volumes"
>;

/** The identity of `r` (a copy of its fixed fields). */
export function identityOf(r: RecordIdentity): RecordIdentity {
  const { version, id, name, spec, imageDigest, imageConfig, chainIds, cgroupsPath, createdAt, volumes } = r;
  return { version, id, name, spec, imageDigest, imageConfig, chainIds, cgroupsPath, createdAt, volumes };
}

/** The first problem of `v` at `at` ("spec.env.PATH: expected a string, got 3"), or undefined. */
type Check = (v: unknown, at: string) => string | undefined;

const shown = (v: unknown) => (v === null ? "null" : v === undefined ? "nothing" : Array.isArray(v) ? "an array" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`);
const expected = (what: string, v: unknown, at: string) => `${at}: expected ${what}, got ${shown(v)}`;
const is = (what: string, ok: (v: unknown) => boolean): Check => (v, at) => (ok(v) ? undefined : expected(what, v, at));

const str = is("a string", (v) => typeof v === "string");
const bool = is("a boolean", (v) => typeof v === "boolean");
const int = is("an integer", (v) => Number.isSafeInteger(v));
const num = is("a number", (v) => typeof v === "number" && Number.isFinite(v));
const name = is("a valid name", isValidName);
const id = is("a container id (64 hex characters)", (v) => typeof v === "string" && ID_RE.test(v));
const digest = is("a sha256 digest", (v) => typeof v === "string" && DIGEST_RE.test(v));
const oneOf = (...values: unknown[]): Check => is(values.map((x) => JSON.stringify(x)).join(" or "), (v) => values.includes(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function arrayOf(item: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return expected("an array", v, at);
    for (let i = 0; i < v.length; i++) {
      const p = item(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return undefined;
  };
}

function mapOf(value: Check): Check {
  return (v, at) => {
    if (!isObject(v)) return expected("an object", v, at);
    for (const [k, x] of Object.entries(v)) {
      const p = value(x, `${at}.${k}`);
      if (p) return p;
    }
    return undefined;
  };
}

const nullable = (c: Check): Check => (v, at) => (v === null ? undefined : c(v, at));

/** An object with `required` and `optional` fields (optional ones may be absent, not null). */
function object(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v, at) => {
    if (!isObject(v)) return expected("an object", v, at);
    for (const [k, c] of Object.entries(required)) {
      const p = v[k] !== undefined ? c(v[k], at ? `${at}.${k}` : k) : `${at ? `${at}.` : ""}${k}: missing`;
      if (p) return p;
    }
    for (const [k, c] of Object.entries(optional)) {
      if (v[k] === undefined) continue;
      const p = c(v[k], at ? `${at}.${k}` : k);
      if (p) return p;
    }
    return undefined;
  };
}

const mount: Check = (v, at) => {
  const type = isObject(v) ? v.type : undefined;
  switch (type) {
    case "volume":
      return object({ source: name, target: str, readOnly: bool })(v, at);
    case "bind":
      return object({ source: str, target: str, readOnly: bool })(v, at);
    case "tmpfs":
      return object({ target: str, readOnly: bool }, { sizeBytes: int, mode: int })(v, at);
    default:
      return isObject(v) ? expected('"volume", "bind" or "tmpfs"', type, `${at}.type`) : expected("an object", v, at);
  }
};

const strings = arrayOf(str);

const networkMode: Check = (v, at) =>
  v === "host" || v === "none" || v === "bridge" || (typeof v === "string" && /^container:[0-9a-f]{64}$/.test(v))
    ? undefined
    : expected('"host", "none", "bridge" or "container:<id>"', v, at);

const createSpec = object(
  {
    name,
    image: str,
    labels: mapOf(str),
    env: mapOf(str),
    mounts: arrayOf(mount),
    networkMode: networkMode,
    resources: object({}, { memoryBytes: int, cpus: num, pids: int }),
    readOnlyRootfs: bool,
    capAdd: strings,
    capDrop: strings,
    privileged: bool,
  },
  {
    command: strings,
    args: strings,
    workingDir: str,
    user: str,
    hostname: str,
    stopSignal: str,
    stopGracePeriodMs: int,
    dns: object({ nameservers: strings, search: strings, options: strings }),
    hosts: arrayOf(object({ address: str, names: strings })),
    noNewPrivileges: bool,
  },
);

const imageConfig = object(
  {},
  {
    User: str,
    Env: strings,
    Entrypoint: nullable(strings),
    Cmd: nullable(strings),
    WorkingDir: str,
    Labels: mapOf(str),
    StopSignal: str,
    ExposedPorts: mapOf(is("an object", isObject)),
    Volumes: mapOf(is("an object", isObject)),
    Healthcheck: object({}, { Test: strings, Interval: int, Timeout: int, StartPeriod: int, StartInterval: int, Retries: int }),
    OnBuild: nullable(strings),
    Shell: strings,
  },
);

const identityFields = {
  version: oneOf(1),
  id,
  name,
  spec: createSpec,
  imageDigest: str,
  imageConfig,
  chainIds: arrayOf(digest),
  cgroupsPath: is("a cgroup path", (v) => typeof v === "string" && v.startsWith("/") && !v.split("/").includes("..")),
  createdAt: str,
  volumes: arrayOf(name),
};

const checkIdentityShape = object(identityFields);

const checkRecordShape = object(
  { ...identityFields, status: oneOf("created", "running", "exited"), oomKilled: bool },
  { pid: int, pidStartTime: str, conmonPid: int, conmonStartTime: str, bootId: str, startedAt: str, exitCode: int, finishedAt: str, reason: str },
);

/** What is wrong with `v` as the fixed part of container `expectedId`'s record, or undefined. */
export function identityProblem(v: unknown, expectedId: string): string | undefined {
  return checkIdentityShape(v, "") ?? sameIds(v as RecordIdentity, expectedId);
}

/** What is wrong with `v` as the record of container `expectedId` (its directory's name), or undefined. */
export function recordProblem(v: unknown, expectedId: string): string | undefined {
  return checkRecordShape(v, "") ?? sameIds(v as RecordIdentity, expectedId);
}

function sameIds(r: RecordIdentity, expectedId: string): string | undefined {
  if (r.id !== expectedId) return `id: ${r.id} is not the record's directory ${expectedId}`;
  if (r.spec.name !== r.name) return `spec.name: ${r.spec.name} is not the record's name ${r.name}`;
  return undefined;
}

/**
 * Parses the text of a record file: the record, or the problem (not JSON, or of another
 * shape). Never throws.
 */
export function parseRecord(text: string, expectedId: string): { record: ContainerRecord } | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { problem: text.trim() === "" ? "empty file" : `not JSON: ${(err as Error).message}` };
  }
  const problem = recordProblem(v, expectedId);
  return problem ? { problem } : { record: v as ContainerRecord };
}

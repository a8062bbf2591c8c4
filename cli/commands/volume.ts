/**
 * `berth volume create|ls|inspect|rm|prune` with Docker's conventions and output, over the
 * daemon's desired state: `create` applies a Volume object through `POST /v1/apply`, the path
 * manifests take, in a stack of its own (`cli` unless --stack), so it is an object like any
 * other (`berth get volumes`, `berth delete volume`) and `apply --prune` of another stack
 * never touches it. `ls`, `inspect`, `rm` and `prune` see what the runtime made without an
 * object too (a container's mount of an undeclared name, anonymous mounts): `/v1/volume-store`.
 *
 * "In use" is berth's: a desired Container mounts it (whether or not it runs now).
 */
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { STORE_ANNOTATIONS } from "../../controller/api/local-stores.js";
import type { ApplyResponse, VolumeStoreItem } from "../../controller/api/protocol.js";
import { alreadyExists, errorMessage, invalidArgument, isBerthError, notFound, notImplemented } from "../../lib/errors.js";
import { assertValidName } from "../../lib/names.js";
import { parseSize } from "../../lib/units.js";
import type { CommandContext } from "../client.js";
import { checkStackName } from "../manifest-args.js";
import { formatTable } from "../table.js";
import { booleanFilter, confirm, labelMatches, listOutput, matchesAll, parseFilters, parseKeyValues, removeEach, removeForPrune, sameLabels, type Filter } from "./store-args.js";

/** The stack `volume create` and `network create` apply to unless --stack. */
export const CLI_STACK = "cli";

export interface VolumeCreateOptions {
  driver?: string;
  opt: string[];
  label: string[];
  stack?: string;
}

type VolumeSpecOptions = { type?: string; size?: string; mode?: string };

/**
 * `--opt K=V` as the Volume spec's options. berth's local driver makes a directory, or a
 * tmpfs with `type=tmpfs` (size, mode). Docker's spelling of a tmpfs volume is accepted too:
 * `type=tmpfs device=tmpfs o=size=100m,mode=1777`. What berth cannot make yet (a device, other
 * mount options, uid/gid) is NotImplemented here, before anything is applied.
 */
export function volumeSpecOptions(opts: Record<string, string>): VolumeSpecOptions {
  const out: VolumeSpecOptions = {};
  const unsupported: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    switch (k) {
      case "type":
        out.type = v;
        break;
      case "device":
        if (!(v === "tmpfs" && opts.type === "tmpfs")) unsupported.push(`device=${v}`);
        break;
      case "size":
        out.size = v;
        break;
      case "mode":
        out.mode = v;
        break;
      case "o":
        for (const part of v.split(",").filter(Boolean)) {
          const i = part.indexOf("=");
          const [key, val] = i < 0 ? [part, ""] : [part.slice(0, i), part.slice(i + 1)];
          if (key === "size" && opts.type === "tmpfs") out.size = val;
          else if (key === "mode" && opts.type === "tmpfs") out.mode = val;
          else unsupported.push(`o=${part}`);
        }
        break;
      default:
        unsupported.push(`${k}=${v}`);
    }
  }
  if (unsupported.length) {
    throw notImplemented(`create volume: option ${unsupported.join(", ")} is not supported (the local driver makes a directory, or with type=tmpfs a tmpfs with size and mode)`);
  }
  if ((out.size !== undefined || out.mode !== undefined) && out.type !== "tmpfs") throw invalidArgument("create volume: size and mode are options of type=tmpfs");
  if (out.size !== undefined) {
    try {
      parseSize(out.size);
    } catch (err) {
      throw invalidArgument(`create volume: size ${JSON.stringify(out.size)}: ${errorMessage(err)}`, { cause: err });
    }
  }
  if (out.mode !== undefined && !/^[0-7]{3,4}$/.test(out.mode)) throw invalidArgument(`create volume: mode ${JSON.stringify(out.mode)}: expected an octal mode such as 1777`);
  return out;
}

/** The Volume object `volume create` applies (its text is what the daemon parses). */
export function volumeObject(name: string, spec: VolumeSpecOptions, labels: Record<string, string>, anonymous: boolean) {
  return {
    apiVersion: "berth/v1",
    kind: "Volume",
    metadata: {
      name,
      ...(Object.keys(labels).length ? { labels } : {}),
      annotations: { [STORE_ANNOTATIONS.createdBy]: "volume-create", ...(anonymous ? { [STORE_ANNOTATIONS.anonymous]: "true" } : {}) },
    },
    spec: { driver: "local", ...(Object.keys(spec).length ? { options: spec } : {}) },
  };
}

/** Docker's generated name of a volume created without one: hex, cut to a berth name's 63 characters (Docker's has 64). */
export function generatedVolumeName(): string {
  return randomBytes(32).toString("hex").slice(0, 63);
}

/** The first error of an apply's diagnostics as an error of this command (no file to point at: the text was made here). */
export function applyError(verb: string, res: ApplyResponse): Error | undefined {
  const d = res.diagnostics.find((x) => x.severity === "error");
  return d ? invalidArgument(`${verb}: ${d.path ? `${d.path}: ` : ""}${d.message}`) : undefined;
}

export async function volumeCreate(ctx: CommandContext, name: string | undefined, o: VolumeCreateOptions): Promise<number> {
  if ((o.driver ?? "local") !== "local") throw notImplemented(`create volume: driver ${JSON.stringify(o.driver)} is not supported (only local)`);
  const anonymous = name === undefined;
  const volName = name ?? generatedVolumeName();
  assertValidName(volName, "volume name");
  const stack = checkStackName(o.stack ?? CLI_STACK);
  const spec = volumeSpecOptions(parseKeyValues(o.opt, "--opt"));
  const labels = parseKeyValues(o.label, "--label", { bareAllowed: true });
  const object = volumeObject(volName, spec, labels, anonymous);
  // Docker: creating a volume that exists with the same options is a no-op that prints its name.
  const existing = await ctx.client.get("Volume", volName).catch((err: unknown) => (isBerthError(err, "NotFound") ? undefined : Promise.reject(err)));
  if (existing) {
    const same = existing.metadata.stack === stack && sameLabels(existing.metadata.labels, labels) && sameVolumeSpec(existing.spec, spec);
    if (!same) throw alreadyExists(`create volume ${volName}: a volume of that name exists (stack ${existing.metadata.stack}) with other options or labels; berth volume rm it first`, { object: { kind: "Volume", name: volName } });
    ctx.stdout.write(`${volName}\n`);
    return 0;
  }
  const res = await ctx.client.apply({ stack, files: [{ file: `<berth volume create ${volName}>`, text: stringify(object), baseDir: process.cwd() }] });
  const err = applyError(`create volume ${volName}`, res);
  if (err) throw err;
  ctx.stdout.write(`${volName}\n`);
  return 0;
}

/** The normalized spec of an existing object against the options asked for. */
function sameVolumeSpec(spec: unknown, asked: VolumeSpecOptions): boolean {
  const o = ((spec ?? {}) as { options?: { type?: string; sizeBytes?: number; mode?: number; device?: string; o?: string } }).options ?? {};
  return (
    o.type === asked.type &&
    o.sizeBytes === (asked.size !== undefined ? parseSize(asked.size) : undefined) &&
    o.mode === (asked.mode !== undefined ? parseInt(asked.mode, 8) : undefined) &&
    o.device === undefined &&
    o.o === undefined
  );
}

export const VOLUME_LS_FILTERS = ["dangling", "label", "name", "driver"] as const;

/** `volume ls --filter`: dangling (no desired container mounts it), label, name (a substring, as Docker), driver. */
export function filterVolumes(items: VolumeStoreItem[], filters: Filter[]): VolumeStoreItem[] {
  return items.filter((v) =>
    matchesAll(filters, (f) => {
      switch (f.key) {
        case "dangling":
          return (v.usedBy.length === 0) === booleanFilter(f);
        case "label":
          return labelMatches(v.labels, f);
        case "name":
          return v.name.includes(f.value);
        case "driver":
          return v.driver === f.value;
        default:
          return false;
      }
    }),
  );
}

/**
 * What `volume prune` removes (pure): volumes no desired container mounts, matching the label
 * filters; without `all` only anonymous ones (Docker 23+), with `all` named ones too — also
 * Volume objects applied from manifests (a stack that applies them again makes them again, empty).
 */
export function volumesToPrune(items: VolumeStoreItem[], o: { all: boolean; filters: Filter[] }): VolumeStoreItem[] {
  return items.filter((v) => v.usedBy.length === 0 && (o.all || v.anonymous) && matchesAll(o.filters, (f) => f.key === "label" && labelMatches(v.labels, f)));
}

/** `docker volume inspect`'s shape, with berth's own facts under `Berth`. */
export function dockerVolume(v: VolumeStoreItem) {
  return {
    CreatedAt: v.createdAt ?? "",
    Driver: v.driver,
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: v.mountpoint ?? "",
    Name: v.name,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: "local",
    Berth: {
      Stack: v.stack ?? "",
      Object: v.declared,
      Anonymous: v.anonymous,
      Exists: v.exists,
      UsedBy: v.usedBy,
      ...(v.message ? { Message: v.message } : {}),
    },
  };
}

export interface VolumeLsOptions {
  quiet: boolean;
  filter: string[];
  output?: string;
  format?: string;
}

export async function volumeLs(ctx: CommandContext, o: VolumeLsOptions): Promise<number> {
  const out = listOutput(o);
  const filters = parseFilters(o.filter, VOLUME_LS_FILTERS);
  const items = filterVolumes(await ctx.client.listVolumeStore(), filters);
  if (o.quiet) ctx.stdout.write(items.map((v) => `${v.name}\n`).join(""));
  else if (out === "docker-json") ctx.stdout.write(items.map((v) => `${JSON.stringify({ Driver: v.driver, Labels: labelsText(v.labels), Mountpoint: v.mountpoint ?? "", Name: v.name, Scope: "local", Stack: v.stack ?? "" })}\n`).join(""));
  else if (out === "json") ctx.stdout.write(`${JSON.stringify({ items }, null, 2)}\n`);
  else if (out === "yaml") ctx.stdout.write(stringify({ items }, { lineWidth: 0 }));
  else if (out === "name") ctx.stdout.write(items.map((v) => `volume/${v.name}\n`).join(""));
  else ctx.stdout.write(formatTable(["DRIVER", "VOLUME NAME", "STACK", "USED BY"], items.map((v) => [v.driver, v.name, v.stack ?? "", v.usedBy.join(",")])));
  return 0;
}

const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** `volume inspect NAME...`: the Docker-shaped array; NotFound (exit 3) for the first name that is none, after printing the others (as Docker). */
export async function volumeInspect(ctx: CommandContext, names: string[]): Promise<number> {
  const items = await ctx.client.listVolumeStore();
  const found: ReturnType<typeof dockerVolume>[] = [];
  const missing: string[] = [];
  for (const n of names) {
    const v = items.find((x) => x.name === n);
    if (v) found.push(dockerVolume(v));
    else missing.push(n);
  }
  ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (missing.length) throw notFound(`inspect volume ${missing.join(", ")}: no such volume`, { object: { kind: "Volume", name: missing[0]! } });
  return 0;
}

/** `volume rm [-f] NAME...`: each in turn (the names removed are printed, as Docker); the first failure's exit code after trying them all. */
export async function volumeRm(ctx: CommandContext, names: string[], o: { force: boolean }): Promise<number> {
  return removeEach(ctx, names, (n) => ctx.client.removeVolume(n, { force: o.force }), o);
}

export interface VolumePruneOptions {
  force: boolean;
  all: boolean;
  filter: string[];
}

export async function volumePrune(ctx: CommandContext, o: VolumePruneOptions): Promise<number> {
  const filters = parseFilters(o.filter, ["label", "all"], ["label"]);
  const all = o.all || filters.some((f) => f.key === "all" && booleanFilter(f));
  if (!o.force) {
    const what = all ? "all local volumes" : "anonymous local volumes";
    if (!(await confirm(ctx, "berth volume prune", `WARNING! This will remove ${what} not used by at least one desired container.`))) return 0;
  }
  const chosen = volumesToPrune(await ctx.client.listVolumeStore(), { all, filters: filters.filter((f) => f.key === "label") });
  // Never forced: a container that started mounting it since the list keeps it.
  return removeForPrune(ctx, chosen.map((v) => v.name), (name) => ctx.client.removeVolume(name), "Volumes");
}

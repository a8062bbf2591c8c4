/**
 * The build plan of a parsed Dockerfile: its stages, the base of each, which are needed for
 * the target, and per instruction of a needed stage the variables in effect and the
 * instruction's words after expansion. Pure: the inputs are the parsed Dockerfile, the
 * `--build-arg`s, the target, the platforms and (optionally) the ENV of base images.
 *
 * Rules (Docker's documentation and BuildKit's dockerfile2llb, where berth differs it says so):
 * - ARGs before the first FROM are global: they expand FROM lines (image and `--platform`) and
 *   are visible inside a stage only when re-declared there by `ARG name` without a value.
 *   BUILDPLATFORM/BUILDOS/BUILDARCH/BUILDVARIANT and the TARGET* ones are global automatically.
 * - Inside a stage an ARG is visible from its declaration to the end of the stage. Its value
 *   is the `--build-arg`, else its default (expanded where it stands), else the global value.
 * - For expansion ENV wins over an ARG of the same name whatever their order (the documented
 *   rule, and the classic builder's; BuildKit lets whichever came later win). A stage's ENV
 *   starts from its base: an earlier stage's final ENV, or `imageEnv[ref]` for an image.
 * - Expanded: FROM, ADD, COPY (sources, destination, heredoc bodies unless the delimiter was
 *   quoted, `--chown --chmod --checksum --exclude`), ENV, LABEL, ARG defaults, EXPOSE (split
 *   into words), STOPSIGNAL, USER, VOLUME, WORKDIR, RUN `--mount`. Not expanded: RUN, CMD,
 *   ENTRYPOINT (the shell does it), SHELL, HEALTHCHECK, MAINTAINER, ONBUILD (its trigger is
 *   expanded when it runs in a child build). `COPY --from` is never expanded (BuildKit refuses
 *   it: "variable expansion is not supported for --from").
 * - The predefined proxy args (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY and
 *   their lower-case forms) need no ARG: given as build args they go to RUN's environment
 *   (`proxyArgs`), are never counted as unused, and are not in `args` (so not in the history)
 *   unless declared.
 * - Stages: `FROM image [AS name]`, names case-insensitive and unique. A base or `--from` that
 *   names an earlier stage (or, for `--from`, an earlier index) is that stage; `scratch` is
 *   empty; anything else is an image reference. Naming the same or a later stage is an error
 *   (BuildKit accepts forward references without a cycle; berth keeps stages in order),
 *   except `FROM x AS x`, which is the image x, as in Docker.
 * - The target is the last stage or `target`; only the stages it depends on (base, COPY
 *   `--from`, RUN `--mount=from=`) are needed, and only those are expanded and counted for
 *   the "build-args were not consumed" warning.
 *
 * Errors: InvalidArgument; those tied to a place in the Dockerfile start `<file>:<line>:<col>: `.
 */
import { invalidArgument } from "../../../lib/errors.js";
import { parseReference } from "../../../lib/reference.js";
import { expandWord, expandWords, lookupOf, type Lookup } from "./expand.js";
import { locate, locatedError, suggestion } from "./location.js";
import type { ArgInstruction, CopyInstruction, Dockerfile, EnvInstruction, FromInstruction, Instruction, Position, Word } from "./types.js";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PlanInputs {
  buildArgs?: Record<string, string>;
  target?: string;
  /** The host's platform. */
  buildPlatform: Platform;
  /** The platform built for; the build platform by default. */
  targetPlatform?: Platform;
  /** The ENV of base images, by reference as written in FROM (after expansion). */
  imageEnv?: Record<string, Record<string, string>>;
}

export type StageBase = { kind: "scratch" } | { kind: "image"; ref: string } | { kind: "stage"; index: number };

/** An instruction's words after expansion (only for the instructions Docker expands). */
export type Expanded =
  | { keyword: "COPY" | "ADD"; sources: string[]; contents: Array<{ name: string; content: string }>; dest: string; flags: Record<string, string[]> }
  | { keyword: "ENV" | "LABEL"; pairs: Array<{ key: string; value: string }> }
  | { keyword: "ARG"; args: Array<{ name: string; value?: string }> }
  | { keyword: "WORKDIR" | "USER" | "STOPSIGNAL"; value: string }
  | { keyword: "EXPOSE"; ports: string[] }
  | { keyword: "VOLUME"; paths: string[] }
  | { keyword: "RUN"; mounts: string[] };

export interface PlannedStep {
  instruction: Instruction;
  /** ARGs declared so far in the stage that have a value, before this instruction. */
  args: Record<string, string>;
  /** ENV in effect (the base's, then the stage's), before this instruction. */
  env: Record<string, string>;
  expanded?: Expanded;
}

export interface PlannedStage {
  index: number;
  /** Lower-case. */
  name?: string;
  from: FromInstruction;
  base: StageBase;
  /** `--platform` after expansion. */
  platform?: string;
  /** Stages this one uses (its base, COPY --from, RUN --mount from=), ascending. */
  dependencies: number[];
  /** Images COPY --from or RUN --mount from= read from. */
  imageSources: string[];
  needed: boolean;
  /** The instructions after FROM; empty for a stage that is not needed. */
  steps: PlannedStep[];
  /** ARGs and ENV at the end of the stage. */
  args: Record<string, string>;
  env: Record<string, string>;
}

export interface BuildPlan {
  stages: PlannedStage[];
  /** Index of the target stage. */
  target: number;
  /** Needed stages in build order (ascending). */
  order: number[];
  /** Global ARGs with a value, automatic platform args included. */
  globalArgs: Record<string, string>;
  /** Predefined proxy args given as build args: RUN's environment only. */
  proxyArgs: Record<string, string>;
  unusedBuildArgs: string[];
  warnings: string[];
}

export const PROXY_ARGS = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"].flatMap((n) => [n, n.toLowerCase()]);

export function planBuild(df: Dockerfile, inputs: PlanInputs): BuildPlan {
  const ctx = context(df, inputs);
  const stages = splitStages(ctx);
  const target = targetIndex(stages, inputs.target);
  const needed = neededStages(stages, target);
  for (const s of stages) {
    s.needed = needed.has(s.index);
    if (s.needed) expandStage(ctx, s, stages);
  }
  const unusedBuildArgs = Object.keys(ctx.buildArgs)
    .filter((k) => !ctx.consumed.has(k) && !PROXY_ARGS.includes(k))
    .sort();
  const warnings = unusedBuildArgs.length === 0 ? [] : [`[Warning] One or more build-args [${unusedBuildArgs.join(" ")}] were not consumed`];
  const proxyArgs = Object.fromEntries(Object.entries(ctx.buildArgs).filter(([k]) => PROXY_ARGS.includes(k)));
  return { stages, target, order: [...needed].sort((a, b) => a - b), globalArgs: ctx.globals, proxyArgs, unusedBuildArgs, warnings };
}

interface Ctx {
  file: string;
  escape: string;
  buildArgs: Record<string, string>;
  globals: Record<string, string>;
  imageEnv: Record<string, Record<string, string>>;
  consumed: Set<string>;
  instructions: Instruction[];
}

function context(df: Dockerfile, inputs: PlanInputs): Ctx {
  const buildArgs = inputs.buildArgs ?? {};
  const ctx: Ctx = { file: df.file, escape: df.escape, buildArgs, globals: platformArgs(inputs), imageEnv: inputs.imageEnv ?? {}, consumed: new Set(), instructions: df.instructions };
  for (const ins of df.instructions) {
    if (ins.keyword === "FROM") break;
    if (ins.keyword === "ARG") declareGlobals(ctx, ins);
  }
  return ctx;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

function platformArgs(inputs: PlanInputs): Record<string, string> {
  const out: Record<string, string> = {};
  const target = inputs.targetPlatform ?? inputs.buildPlatform;
  for (const [prefix, p] of [["BUILD", inputs.buildPlatform], ["TARGET", target]] as const) {
    out[`${prefix}PLATFORM`] = formatPlatform(p);
    out[`${prefix}OS`] = p.os;
    out[`${prefix}ARCH`] = p.architecture;
    out[`${prefix}VARIANT`] = p.variant ?? "";
  }
  return out;
}

function declareGlobals(ctx: Ctx, ins: ArgInstruction): void {
  for (const a of ins.args) {
    const name = a.name.value;
    ctx.consumed.add(name);
    const value = argValue(ctx, a, lookupOf(ctx.globals), ctx.globals[name]);
    if (value !== undefined) ctx.globals[name] = value;
  }
}

/** The `--build-arg`, else the default expanded by `lookup`, else `fallback`. */
function argValue(ctx: Ctx, a: ArgInstruction["args"][number], lookup: Lookup, fallback: string | undefined): string | undefined {
  const name = a.name.value;
  if (Object.prototype.hasOwnProperty.call(ctx.buildArgs, name)) return ctx.buildArgs[name];
  if (a.default !== undefined) return expandAt(ctx, a.default, lookup);
  return fallback;
}

function expandAt(ctx: Ctx, word: Word, lookup: Lookup): string {
  return locate(ctx.file, word, () => expandWord(word.value, lookup, { escape: ctx.escape }));
}

function splitStages(ctx: Ctx): PlannedStage[] {
  const stages: PlannedStage[] = [];
  for (const ins of ctx.instructions) {
    if (ins.keyword === "FROM") stages.push(newStage(ctx, ins, stages));
  }
  if (stages.length === 0) throw locatedError(ctx.file, ctx.instructions[0] ?? { line: 1, column: 1 }, "no FROM instruction: a Dockerfile needs at least one stage (FROM <image>)");
  for (const s of stages) s.base = baseOf(ctx, s, stages);
  for (const s of stages) collectSources(ctx, s, stages);
  return stages;
}

function newStage(ctx: Ctx, from: FromInstruction, earlier: PlannedStage[]): PlannedStage {
  const name = from.stage?.value.toLowerCase();
  const clash = name === undefined ? undefined : earlier.find((s) => s.name === name);
  if (clash) throw locatedError(ctx.file, from.stage!, `duplicate stage name ${JSON.stringify(name)}: stage ${clash.index} at line ${clash.from.line} already has it`);
  const platformFlag = from.flags.find((f) => f.name === "platform");
  const stage: PlannedStage = { index: earlier.length, from, base: { kind: "scratch" }, dependencies: [], imageSources: [], needed: false, steps: [], args: {}, env: {} };
  if (name !== undefined) stage.name = name;
  if (platformFlag) {
    const platform = expandAt(ctx, platformFlag, lookupOf(ctx.globals));
    if (platform === "") throw locatedError(ctx.file, platformFlag, `empty platform value from expression ${platformFlag.value}`);
    stage.platform = platform;
  }
  return stage;
}

function baseOf(ctx: Ctx, stage: PlannedStage, stages: PlannedStage[]): StageBase {
  const image = stage.from.image;
  const ref = expandAt(ctx, image, lookupOf(ctx.globals));
  if (ref === "") throw locatedError(ctx.file, image, `base name (${image.value}) should not be blank`);
  const lower = ref.toLowerCase();
  const named = stages.find((s) => s.name === lower);
  if (named !== undefined && named.index < stage.index) {
    stage.dependencies.push(named.index);
    return { kind: "stage", index: named.index };
  }
  if (named !== undefined && named.index > stage.index) throw laterStage(ctx, image, `FROM ${ref}`, named, stage);
  if (lower === "scratch") return { kind: "scratch" };
  locate(ctx.file, image, () => parseReference(ref));
  return { kind: "image", ref };
}

function laterStage(ctx: Ctx, at: Position, what: string, target: PlannedStage, stage: PlannedStage): Error {
  const which = target.index === stage.index ? "this stage itself" : `stage ${target.index}${target.name ? ` (${target.name})` : ""}, defined later at line ${target.from.line}`;
  return locatedError(ctx.file, at, `${what} refers to ${which}: a stage can only use earlier stages`);
}

/** COPY --from and RUN --mount from=: stage dependencies or image sources. */
function collectSources(ctx: Ctx, stage: PlannedStage, stages: PlannedStage[]): void {
  for (const ins of stageInstructions(ctx, stage)) {
    for (const f of ins.flags) {
      if (ins.keyword === "COPY" && f.name === "from") addSource(ctx, stage, stages, f, f.value, `COPY --from=${f.value}`);
      if (ins.keyword === "RUN" && f.name === "mount") {
        const from = mountFrom(f.value);
        if (from !== undefined) addSource(ctx, stage, stages, f, from, `RUN --mount=from=${from}`);
      }
    }
  }
  stage.dependencies = [...new Set(stage.dependencies)].sort((a, b) => a - b);
}

function mountFrom(value: string): string | undefined {
  for (const field of value.split(",")) {
    const [k, v] = field.split("=", 2) as [string, string | undefined];
    if (k.trim().toLowerCase() === "from" && v !== undefined) return v.trim();
  }
  return undefined;
}

function addSource(ctx: Ctx, stage: PlannedStage, stages: PlannedStage[], at: Position, from: string, what: string): void {
  if (from.includes("$") || locate(ctx.file, at, () => expandWord(from, () => undefined, { escape: ctx.escape })) !== from) {
    throw locatedError(ctx.file, at, `variable expansion is not supported for --from: define a stage with FROM using a global ARG instead`);
  }
  const byIndex = /^[0-9]+$/.test(from) ? stages[Number(from)] : undefined;
  if (/^[0-9]+$/.test(from) && byIndex === undefined) throw locatedError(ctx.file, at, `${what}: invalid stage index ${from}: the Dockerfile has stages 0 to ${stages.length - 1}`);
  const target = byIndex ?? stages.find((s) => s.name === from.toLowerCase());
  if (target === undefined) {
    locate(ctx.file, at, () => parseReference(from));
    stage.imageSources.push(from);
    return;
  }
  if (target.index >= stage.index) throw laterStage(ctx, at, what, target, stage);
  stage.dependencies.push(target.index);
}

function stageInstructions(ctx: Ctx, stage: PlannedStage): Instruction[] {
  const start = ctx.instructions.indexOf(stage.from);
  const next = ctx.instructions.findIndex((i, n) => n > start && i.keyword === "FROM");
  return ctx.instructions.slice(start + 1, next === -1 ? undefined : next);
}

function targetIndex(stages: PlannedStage[], target: string | undefined): number {
  if (target === undefined || target === "") return stages.length - 1;
  const found = stages.find((s) => s.name === target.toLowerCase());
  if (found) return found.index;
  const names = stages.flatMap((s) => (s.name === undefined ? [] : [s.name]));
  const known = names.length === 0 ? "the Dockerfile has no named stages" : `the stages are ${names.map((n) => JSON.stringify(n)).join(", ")}`;
  return fail(`build target ${JSON.stringify(target)}: no such stage; ${known}${suggestion(target, names)}`);
}

function fail(message: string): never {
  throw invalidArgument(message);
}

function neededStages(stages: PlannedStage[], target: number): Set<number> {
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of stages[i]!.dependencies) visit(d);
  };
  visit(target);
  return needed;
}

function expandStage(ctx: Ctx, stage: PlannedStage, stages: PlannedStage[]): void {
  const base = stage.base;
  const env: Record<string, string> = base.kind === "stage" ? { ...stages[base.index]!.env } : base.kind === "image" ? { ...(ctx.imageEnv[base.ref] ?? {}) } : {};
  const args: Record<string, string> = {};
  for (const instruction of stageInstructions(ctx, stage)) {
    const step: PlannedStep = { instruction, args: { ...args }, env: { ...env } };
    const expanded = expandStep(ctx, instruction, args, env);
    if (expanded !== undefined) step.expanded = expanded;
    stage.steps.push(step);
  }
  stage.args = args;
  stage.env = env;
}

/** Expands one instruction and applies its ARG/ENV to `args`/`env`. */
function expandStep(ctx: Ctx, ins: Instruction, args: Record<string, string>, env: Record<string, string>): Expanded | undefined {
  const lookup = lookupOf(env, args);
  const one = (w: Word) => expandAt(ctx, w, lookup);
  switch (ins.keyword) {
    case "ARG":
      return declareArgs(ctx, ins, args, env);
    case "ENV":
    case "LABEL": {
      const pairs = expandPairs(ins, one);
      if (ins.keyword === "ENV") for (const p of pairs) env[p.key] = p.value;
      return { keyword: ins.keyword, pairs };
    }
    case "WORKDIR":
    case "USER":
    case "STOPSIGNAL":
      return { keyword: ins.keyword, value: one(ins.value) };
    case "EXPOSE":
      return { keyword: "EXPOSE", ports: ins.ports.flatMap((p) => locate(ctx.file, p, () => expandWords(p.value, lookup, { escape: ctx.escape }))) };
    case "VOLUME":
      return { keyword: "VOLUME", paths: ins.paths.map(one) };
    case "COPY":
    case "ADD":
      return expandCopy(ctx, ins, lookup, one);
    case "RUN":
      return { keyword: "RUN", mounts: ins.flags.filter((f) => f.name === "mount").map(one) };
    default:
      return undefined;
  }
}

function declareArgs(ctx: Ctx, ins: ArgInstruction, args: Record<string, string>, env: Record<string, string>): Expanded {
  const out: Array<{ name: string; value?: string }> = [];
  for (const a of ins.args) {
    const name = a.name.value;
    ctx.consumed.add(name);
    const value = argValue(ctx, a, lookupOf(env, args), ctx.globals[name]);
    if (value !== undefined) args[name] = value;
    out.push(value === undefined ? { name } : { name, value });
  }
  return { keyword: "ARG", args: out };
}

function expandPairs(ins: EnvInstruction, one: (w: Word) => string): Array<{ key: string; value: string }> {
  return ins.pairs.map((p) => ({ key: one(p.key), value: one(p.value) }));
}

const EXPANDED_COPY_FLAGS = new Set(["chown", "chmod", "checksum", "exclude"]);

function expandCopy(ctx: Ctx, ins: CopyInstruction, lookup: Lookup, one: (w: Word) => string): Expanded {
  const flags: Record<string, string[]> = {};
  for (const f of ins.flags) (flags[f.name] ??= []).push(EXPANDED_COPY_FLAGS.has(f.name) ? one(f) : f.value);
  const sources = ins.sources.filter((s) => s.heredoc === undefined).map(one);
  const contents = ins.sources.flatMap((s) => {
    const h = s.heredoc;
    if (h === undefined) return [];
    const content = h.expand ? locate(ctx.file, h, () => expandWord(h.content, lookup, { skipProcessQuotes: true })) : h.content;
    return [{ name: h.name, content }];
  });
  return { keyword: ins.keyword, sources, contents, dest: one(ins.dest), flags };
}

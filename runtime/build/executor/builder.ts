/**
 * berth's Dockerfile builder (issue 10): parse (frontend/parse.ts), plan the stages the
 * target needs (frontend/stages.ts), then run each stage's steps in order on the image
 * store and the container runtime:
 *
 * - FROM: `scratch`, an earlier stage's result, or an image in the store (else pulled, when
 *   the builder has a puller). Its ONBUILD triggers run first; the new image has none.
 * - Config instructions change the config only (config-apply.ts) and become history
 *   entries without a layer; ARG too (in history as BuildKit writes it).
 * - RUN runs in a container (run-step.ts); COPY and ADD write a layer from the planned
 *   entries (context/copy-plan.ts, copy-layer.ts), from the context or — `--from` — from a
 *   stage's or image's file system (a read-only view).
 * - The cache (cache.ts): every step's key chains the previous one; a layer step whose key
 *   has a live image is `CACHED`, else the reason it missed is reported and the result
 *   recorded. `noCache` skips lookups (and records the new results). The stage's final
 *   image is cached the same way, so an unchanged rebuild gives the same image.
 * - Errors name the instruction's place: `Dockerfile:3:1: RUN false: The command ...`.
 * - Events (`onEvent`) carry each step, CACHED or why not, RUN output as it comes, and
 *   warnings; the same lines go to a build log under `<root>/build/logs/`.
 *
 * Only the target stage's layers are in the result (each stage is its own chain of images).
 * Over 400 lines on purpose: one concern, the order of a build's steps and their cache
 * decisions; what a step does is in its own module (run-step, copy-layer, config-apply).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, promises as fs, type WriteStream } from "node:fs";
import * as path from "node:path";
import type { Pack } from "tar-stream";
import { BerthError, errorMessage, invalidArgument, isBerthError } from "../../../lib/errors.js";
import type { ImageRecord, ImageRuntimeConfig } from "../../types.js";
import { planCopy, type PlannedEntry } from "../context/copy-plan.js";
import { identityLookupFromFiles, type IdentityLookup } from "../context/chown.js";
import { readDockerignore } from "../context/dockerignore.js";
import type { IgnoreMatcher } from "../context/types.js";
import { openSourceRoot, readBuildFile, type SourceRoot } from "../context/walk.js";
import { parseDockerfile } from "../frontend/parse.js";
import { formatPlatform, planBuild, type BuildPlan, type PlannedStage, type PlannedStep } from "../frontend/stages.js";
import type { CopyInstruction as CopyIns, Dockerfile, Instruction, RunInstruction } from "../frontend/types.js";
import { baseKey, BuildCache, chainKey, FileHashCache, type StepInputs } from "./cache.js";
import { applyConfig, argvOf, CONFIG_KEYWORDS, envMap, type ConfigState } from "./config-apply.js";
import { imagePathResolver, packCopy } from "./copy-layer.js";
import { runStep, type BuildNetwork, type RunRuntime } from "./run-step.js";
import { DEFAULT_PATH } from "../../containers/spec-builder.js";

export type BuildEvent =
  | { type: "step"; stage: string; step: number; steps: number; text: string }
  | { type: "cached"; text: string }
  | { type: "miss"; reason: string }
  | { type: "output"; stream: "stdout" | "stderr"; line: string }
  | { type: "warning"; message: string }
  | { type: "done"; image: string; configDigest: string; tags: string[]; seconds: number };

export interface BuildRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile's path inside the context (default `Dockerfile`). */
  dockerfile?: string;
  /** The Dockerfile's text instead (an Image object's `dockerfileInline`, `-f -`, or a file outside the context the CLI read). */
  dockerfileText?: string;
  tags: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  network?: BuildNetwork;
  onEvent?: (e: BuildEvent) => void;
  signal?: AbortSignal;
  /**
   * Called for an image FROM or --from names that is not in the store, before pulling it:
   * the controller throws here (a retryable error) when another Image object will provide it.
   */
  onMissingImage?: (ref: string) => void | Promise<void>;
}

export interface BuilderImages {
  get(ref: string): Promise<ImageRecord>;
  tag(source: string, target: string): Promise<ImageRecord>;
  commit?: NonNullable<import("../../types.js").ImageStore["commit"]>;
}

export interface BuilderDeps {
  runtime: RunRuntime;
  images: BuilderImages;
  /** A read-only view of an image's layers (unpacked first as needed); none: an empty directory. */
  withImageView<T>(image: ImageRecord | undefined, fn: (root: string) => Promise<T>): Promise<T>;
  /** Pulls an image a FROM or --from names that is not in the store; none: NotFound. */
  pull?(ref: string, signal?: AbortSignal): Promise<ImageRecord>;
  root: string;
  now?: () => Date;
  platform: { os: string; architecture: string; variant?: string };
}

interface StageResult {
  image: ImageRecord;
}

/** A Dockerfile build. One at a time per builder (its cache file is its own). */
export class Builder {
  private cache: BuildCache | undefined;
  private hashes: FileHashCache | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: BuilderDeps) {}

  build(req: BuildRequest): Promise<ImageRecord> {
    const run = this.queue.then(() => this.buildNow(req));
    this.queue = run.catch(() => {});
    return run;
  }

  private async openCache(): Promise<BuildCache> {
    this.cache ??= await BuildCache.open(this.deps.root);
    return this.cache;
  }

  private async buildNow(req: BuildRequest): Promise<ImageRecord> {
    const started = Date.now();
    const id = `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}`;
    const logDir = path.join(this.deps.root, "build", "logs");
    await fs.mkdir(logDir, { recursive: true, mode: 0o700 });
    const log = createWriteStream(path.join(logDir, `${id}.log`), { mode: 0o600 });
    const emit = (e: BuildEvent) => {
      log.write(`${JSON.stringify(e)}\n`);
      req.onEvent?.(e);
    };
    try {
      const image = await this.buildWith(req, emit);
      for (const t of req.tags) await this.deps.images.tag(image.digest, t);
      const tagged = req.tags.length ? await this.deps.images.get(image.digest) : image;
      emit({ type: "done", image: tagged.digest, configDigest: tagged.configDigest, tags: req.tags, seconds: (Date.now() - started) / 1000 });
      return tagged;
    } finally {
      await closeLog(log);
    }
  }

  private async buildWith(req: BuildRequest, emit: (e: BuildEvent) => void): Promise<ImageRecord> {
    const context = await openSourceRoot(req.context, { scope: "context" });
    try {
      const name = req.dockerfile ?? "Dockerfile";
      const text = req.dockerfileText ?? (await readBuildFile(context, name, { what: `read Dockerfile ${name}`, maxBytes: 8 << 20 }))!.toString("utf8");
      const df = parseDockerfile(text, { file: req.dockerfileText !== undefined && req.dockerfile === undefined ? "Dockerfile" : name });
      for (const w of df.warnings) emit({ type: "warning", message: `${df.file}:${w.line}:${w.column}: ${w.message}` });
      const ignore = await readDockerignore(context, req.dockerfileText === undefined ? name : undefined);
      const images = this.imageLookup(df, req);
      const plan = await this.plan(df, req, images);
      for (const w of plan.warnings) emit({ type: "warning", message: w });
      const results = new Map<number, StageResult>();
      this.hashes ??= await FileHashCache.open(this.deps.root);
      const run: RunCtx = { req, df, plan, images, context, ignore, emit, results, cache: req.noCache ? undefined : await this.openCache(), record: await this.openCache(), hashes: this.hashes };
      try {
        for (const i of plan.order) results.set(i, { image: await this.runStage(run, plan.stages[i]!) });
      } finally {
        // aids: a build never fails for them
        await run.record.flush().catch(() => {});
        await this.hashes.save().catch(() => {});
      }
      return results.get(plan.target)!.image;
    } finally {
      await context.close();
    }
  }

  /** Plans twice: once to learn the images FROM names, then with their ENV (the planner expands with it). */
  private async plan(df: Dockerfile, req: BuildRequest, images: ImageLookup): Promise<BuildPlan> {
    const inputs = { buildPlatform: this.deps.platform, ...(req.buildArgs ? { buildArgs: req.buildArgs } : {}), ...(req.target ? { target: req.target } : {}) };
    const first = planBuild(df, inputs);
    const imageEnv: Record<string, Record<string, string>> = {};
    for (const i of first.order) {
      const s = first.stages[i]!;
      if (s.base.kind !== "image") continue;
      const img = await images(s.base.ref, s.from);
      imageEnv[s.base.ref] = envMap(img.config);
    }
    return planBuild(df, { ...inputs, imageEnv });
  }

  /**
   * The images a build names (FROM, --from) by reference: from the store, else — after
   * `onMissingImage` — pulled. Each once per build: planning and the stage share it.
   */
  private imageLookup(df: Dockerfile, req: BuildRequest): ImageLookup {
    const seen = new Map<string, Promise<ImageRecord>>();
    const find = async (ref: string, at: Place): Promise<ImageRecord> => {
      try {
        return await this.deps.images.get(ref);
      } catch (err) {
        if (!isBerthError(err, "NotFound")) throw err;
        await req.onMissingImage?.(ref);
        const named = at.keyword === "FROM" ? `FROM ${ref}` : `${at.keyword} --from=${ref}`;
        if (!this.deps.pull) throw located(df, at, `${named}: the image is not in the store (pull it first, or load it)`, err);
        return this.deps.pull(ref, req.signal);
      }
    };
    return (ref, at) => {
      let p = seen.get(ref);
      if (!p) {
        p = find(ref, at);
        seen.set(ref, p);
      }
      return p;
    };
  }

  private async runStage(run: RunCtx, stage: PlannedStage): Promise<ImageRecord> {
    const { df, emit } = run;
    if (stage.platform !== undefined && !samePlatform(stage.platform, this.deps.platform)) {
      throw located(df, stage.from, `FROM --platform=${stage.platform}: berth builds for this host's platform only (${formatPlatform(this.deps.platform)})`, undefined);
    }
    const label = stage.name ?? String(stage.index);
    let image: ImageRecord | undefined =
      stage.base.kind === "scratch" ? undefined : stage.base.kind === "stage" ? run.results.get(stage.base.index)!.image : await run.images(stage.base.ref, stage.from);
    const config: ImageRuntimeConfig = structuredClone(image?.config ?? {});
    if (!config.Env?.some((e) => e.startsWith("PATH="))) config.Env = [`PATH=${DEFAULT_PATH}`, ...(config.Env ?? [])];
    const triggers = config.OnBuild ?? [];
    delete config.OnBuild; // triggers are not inherited
    const s: StageState = { image, cs: { config, args: {}, cmdSet: false, escape: df.escape }, key: baseKey(image?.digest), pending: [] };
    const steps: { ins: Instruction; step?: PlannedStep }[] = [...triggerInstructions(df, triggers).map((ins) => ({ ins })), ...stage.steps.map((step) => ({ ins: step.instruction, step }))];
    // FROM is the stage's first step, as Docker counts them
    emit({ type: "step", stage: label, step: 1, steps: steps.length + 1, text: instructionText(stage.from) });
    for (const [n, { ins, step }] of steps.entries()) {
      const text = instructionText(ins);
      emit({ type: "step", stage: label, step: n + 2, steps: steps.length + 1, text });
      if (step) s.cs = { ...s.cs, args: step.args };
      try {
        await this.runInstruction(run, stage, s, ins, step);
      } catch (err) {
        if (err instanceof BerthError && /^[^:\s]+:\d+:\d+: /.test(err.message)) throw err;
        throw located(df, ins, `${text.slice(0, 80)}: ${errorMessage(err)}`, err);
      }
    }
    // the stage's image: its last layer step's, with the config-only steps after it
    const inputs: StepInputs = { instruction: "(end of stage)", env: [] };
    const key = chainKey(s.key, inputs);
    if (s.pending.length || !s.image) {
      const hit = await this.cached(run, key);
      if (hit) s.image = hit;
      else s.image = await this.commit({ ...(s.image ? { base: s.image.digest } : {}), steps: s.pending, config: s.cs.config, ...(s.cs.author ? { author: s.cs.author } : {}) });
    }
    // recorded as what the stage gave (image ls shows it; the steps' images on the way it hides)
    run.record.put(key, s.key, inputs, s.image!.digest, this.now(), true);
    return s.image!;
  }

  private async runInstruction(run: RunCtx, stage: PlannedStage, s: StageState, ins: Instruction, step: PlannedStep | undefined): Promise<void> {
    if (ins.keyword === "FROM") throw invalidArgument("FROM is not allowed here");
    if (ins.keyword === "ARG") {
      const values = (step?.expanded?.keyword === "ARG" ? step.expanded.args : ins.args.map((a) => ({ name: a.name.value, value: a.default?.value }))).map((a) => (a.value !== undefined ? `${a.name}=${a.value}` : a.name));
      for (const a of ins.args) warnSecret(run, ins, "ARG", a.name.value, "the image's history");
      const text = `ARG ${values.join(" ")}`;
      // the names only: the values reach the steps that use them (RUN's env, expanded words)
      s.key = chainKey(s.key, { instruction: `ARG ${values.map((v) => v.split("=")[0]).join(" ")}`, env: [] });
      s.pending.push({ createdBy: text });
      return;
    }
    if (CONFIG_KEYWORDS.has(ins.keyword)) {
      if (ins.keyword === "ENV") for (const p of ins.pairs) warnSecret(run, ins, "ENV", p.key.value, "the image's config");
      const a = applyConfig(ins, s.cs);
      s.cs = a.state;
      s.key = chainKey(s.key, { instruction: a.text, env: [] });
      s.pending.push({ createdBy: a.text });
      return;
    }
    if (ins.keyword === "RUN") return this.run(run, s, ins);
    if (ins.keyword === "COPY" || ins.keyword === "ADD") return this.copy(run, stage, s, ins, step);
    throw invalidArgument(`${ins.keyword} is not supported`);
  }

  private async run(run: RunCtx, s: StageState, ins: RunInstruction): Promise<void> {
    for (const f of ins.flags) {
      if (f.name === "mount" || f.name === "security") throw invalidArgument(`RUN --${f.name} is not supported by berth's builder`);
    }
    const netFlag = ins.flags.find((f) => f.name === "network")?.value;
    if (netFlag !== undefined && !["default", "none", "host"].includes(netFlag)) throw invalidArgument(`RUN --network=${netFlag}: expected default, none or host`);
    const network: BuildNetwork = netFlag === "none" || netFlag === "host" ? netFlag : (run.req.network ?? "bridge");
    const argv = ins.command.form === "exec" ? [...ins.command.argv] : argvOf({ form: "shell", script: { ...ins.command.script, value: withHeredocs(ins) } }, s.cs.config);
    const args = s.cs.args; // the step's (runStage set them)
    const inputs: StepInputs = { instruction: `RUN ${JSON.stringify(argv)}${netFlag ? ` --network=${netFlag}` : ""}`, env: Object.entries(args).map(([k, v]) => `${k}=${v}`).sort() };
    const key = chainKey(s.key, inputs);
    const createdBy = `RUN ${argv.join(" ")} # berth build`;
    const hit = await this.cached(run, key, inputs, s.key);
    if (hit) {
      s.image = hit;
    } else {
      const base = s.image ?? (await this.commit({ steps: [], config: s.cs.config }));
      s.image = await runStep(this.deps.runtime, {
        base: base.digest,
        argv,
        config: s.cs.config,
        buildArgs: { ...run.plan.proxyArgs, ...args },
        network,
        createdBy,
        pendingHistory: s.pending,
        onOutput: (stream, line) => run.emit({ type: "output", stream, line }),
        ...(run.req.signal ? { signal: run.req.signal } : {}),
      });
      run.record.put(key, s.key, inputs, s.image.digest, this.now());
    }
    s.pending = [];
    s.key = key;
  }

  private async copy(run: RunCtx, stage: PlannedStage, s: StageState, ins: CopyIns, step: PlannedStep | undefined): Promise<void> {
    const ex = step?.expanded?.keyword === ins.keyword ? step.expanded : undefined;
    if (!ex || (ex.keyword !== "COPY" && ex.keyword !== "ADD")) throw invalidArgument(`${ins.keyword} was not planned`);
    const flag = (n: string) => ex.flags[n]?.[0];
    for (const n of ["link", "parents", "exclude", "checksum", "keep-git-dir", "unpack"]) {
      if (ex.flags[n] && !(n === "link" && flag(n) === "false")) throw invalidArgument(`${ins.keyword} --${n} is not supported by berth's builder`);
    }
    if (ex.contents.length > 0) throw invalidArgument(`${ins.keyword} with a here-document is not supported by berth's builder`);
    const from = flag("from");
    const source = from === undefined ? undefined : await this.fromImage(run, stage, from, ins);
    const withSource = <T>(fn: (root: SourceRoot, ignore: IgnoreMatcher | undefined) => Promise<T>): Promise<T> =>
      source ? this.withImageRoot(source, `the file system of ${from}`, (root) => fn(root, undefined)) : fn(run.context, run.ignore);
    const withImage = <T>(fn: (root: SourceRoot) => Promise<T>): Promise<T> => this.withImageRoot(s.image, "the image being built", fn);
    const chown = flag("chown");
    const chmod = flag("chmod");
    const shown = [...(from ? [`--from=${from}`] : []), ...(chown ? [`--chown=${chown}`] : []), ...(chmod ? [`--chmod=${chmod}`] : []), ...ex.sources, ex.dest].join(" ");
    // From an image or stage, its digest pins the sources and the chain pins the image copied
    // into: the key needs no plan, and a hit mounts nothing.
    let known: { inputs: StepInputs; key: string } | undefined;
    if (source) {
      const inputs: StepInputs = { instruction: `${ins.keyword} ${shown} (${source.digest})`, env: [], sources: `image:${source.digest}` };
      const key = chainKey(s.key, inputs);
      const hit = await this.cached(run, key, inputs, s.key);
      if (hit) {
        s.image = hit;
        s.pending = [];
        s.key = key;
        return;
      }
      known = { inputs, key };
    }
    await withImage((imageRoot) =>
      withSource(async (srcRoot, ignore) => {
        const plan = await planCopy(
          { instruction: ins.keyword as "COPY" | "ADD", sources: ex.sources, dest: ex.dest, workdir: s.cs.config.WorkingDir || "/", ...(chown ? { chown } : {}), ...(chmod ? { chmod } : {}) },
          {
            root: srcRoot,
            ...(ignore ? { ignore } : {}),
            ...(source ? {} : { hashes: run.hashes }), // context files only: a view's inodes are per mount
            isDirInImage: async (p) => (await imageRoot.resolve(p).catch(() => undefined))?.type === "dir",
            identities: await identitiesOf(imageRoot),
          },
        );
        const inputs: StepInputs = known?.inputs ?? { instruction: `${ins.keyword} ${shown}`, env: [], sources: plan.digest };
        const key = known?.key ?? chainKey(s.key, inputs);
        const hit = known ? undefined : await this.cached(run, key, inputs, s.key);
        if (hit) s.image = hit;
        else {
          const now = this.now();
          const resolve = imagePathResolver(imageRoot);
          const write = (pack: Pack) => packCopy(pack, plan.entries as PlannedEntry[], srcRoot, resolve, now);
          s.image = await this.commit({
            ...(s.image ? { base: s.image.digest } : {}),
            steps: [...s.pending, { createdBy: `${ins.keyword} ${shown} # berth build`, write }],
            config: s.cs.config,
            ...(s.cs.author ? { author: s.cs.author } : {}),
          });
          run.record.put(key, s.key, inputs, s.image.digest, now);
        }
        s.pending = [];
        s.key = key;
      }),
    );
  }

  /** `--from`: a stage by name or index, else an image. */
  private async fromImage(run: RunCtx, stage: PlannedStage, from: string, at: Place): Promise<ImageRecord> {
    const byName = run.plan.stages.find((x) => x.name === from.toLowerCase() && x.index < stage.index);
    const byIndex = /^[0-9]+$/.test(from) ? run.plan.stages[Number(from)] : undefined;
    const st = byName ?? (byIndex && byIndex.index < stage.index ? byIndex : undefined);
    if (st) return run.results.get(st.index)!.image;
    return run.images(from, at);
  }

  /** `fn` over a read-only view of `image` (none: empty), read as a root file system. */
  private withImageRoot<T>(image: ImageRecord | undefined, label: string, fn: (root: SourceRoot) => Promise<T>): Promise<T> {
    return this.deps.withImageView(image, async (dir) => {
      const root = await openSourceRoot(dir, { scope: "rootfs", label });
      try {
        return await fn(root);
      } finally {
        await root.close();
      }
    });
  }

  /** The live image cached under `key`, reporting CACHED or why not. */
  private async cached(run: RunCtx, key: string, inputs?: StepInputs, prev?: string): Promise<ImageRecord | undefined> {
    if (!run.cache) {
      if (inputs) run.emit({ type: "miss", reason: "--no-cache" });
      return undefined;
    }
    const digest = run.cache.get(key);
    const image = digest ? await this.deps.images.get(digest).catch(() => undefined) : undefined;
    if (image) {
      if (inputs) run.emit({ type: "cached", text: inputs.instruction });
      return image;
    }
    if (digest) run.cache.forget(key);
    if (inputs && prev !== undefined) run.emit({ type: "miss", reason: digest ? "its cached image was removed" : run.cache.explainMiss(prev, inputs) });
    return undefined;
  }

  private commit(input: Parameters<NonNullable<BuilderImages["commit"]>>[0]): Promise<ImageRecord> {
    if (!this.deps.images.commit) throw invalidArgument("this image store cannot make images");
    return this.deps.images.commit(input);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** An image FROM or --from names, by reference (`at`: where, for the error when it is nowhere). */
type ImageLookup = (ref: string, at: Place) => Promise<ImageRecord>;

/** Where in the Dockerfile an image is named. */
type Place = { line: number; column: number; keyword: string };

interface RunCtx {
  req: BuildRequest;
  df: Dockerfile;
  plan: BuildPlan;
  images: ImageLookup;
  context: SourceRoot;
  ignore: IgnoreMatcher;
  emit: (e: BuildEvent) => void;
  results: Map<number, StageResult>;
  /** Where hits are looked up; none with --no-cache. */
  cache: BuildCache | undefined;
  /** Where results are recorded (also with --no-cache). */
  record: BuildCache;
  /** Content hashes of context files already read (with --no-cache too: they are facts, not results). */
  hashes: FileHashCache;
}

interface StageState {
  image: ImageRecord | undefined;
  cs: ConfigState;
  key: string;
  pending: { createdBy: string; comment?: string }[];
}

const SECRET_NAME = /(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

/** BuildKit's SecretsUsedInArgOrEnv: a secret in ARG or ENV stays readable in the image. */
function warnSecret(run: RunCtx, at: { line: number; column: number }, kind: string, name: string, where: string): void {
  if (SECRET_NAME.test(name)) run.emit({ type: "warning", message: `${run.df.file}:${at.line}:${at.column}: ${kind} ${name} looks like a secret: its value stays readable in ${where}` });
}

/** `linux`, `linux/amd64`, `linux/amd64/v1` against the host's (variant only when both have one). */
function samePlatform(text: string, host: BuilderDeps["platform"]): boolean {
  const [os, arch, variant] = text.toLowerCase().split("/");
  if (os !== host.os) return false;
  if (arch !== undefined && arch !== host.architecture) return false;
  return variant === undefined || host.variant === undefined || variant === host.variant;
}

/** An instruction as written, its flags included: `COPY --from=build /out /out`. */
function instructionText(ins: Instruction): string {
  const flags = ins.flags.map((f) => `--${f.name}=${f.value}`);
  return [ins.keyword, ...flags, ins.raw.value].filter((x) => x !== "").join(" ");
}

/** A shell-form RUN with here-documents: the shell reads them after the command line. */
function withHeredocs(ins: RunInstruction): string {
  if (ins.command.form !== "shell") return "";
  const script = ins.command.script.value;
  if (ins.heredocs.length === 0) return script;
  // `RUN <<EOF` alone: the document is the script (BuildKit)
  if (ins.heredocs.length === 1 && /^<<-?["']?[A-Za-z0-9_]+["']?$/.test(script.trim())) return ins.heredocs[0]!.content;
  return `${script}\n${ins.heredocs.map((h) => `${h.content}${h.name}`).join("\n")}\n`;
}

/** ONBUILD triggers of the base, parsed as the instructions they are (positions are the trigger's). */
function triggerInstructions(df: Dockerfile, triggers: string[]): Instruction[] {
  const out: Instruction[] = [];
  for (const t of triggers) {
    const parsed = parseDockerfile(`FROM scratch\n${t}\n`, { file: `${df.file} (ONBUILD of the base image)` });
    out.push(...parsed.instructions.slice(1));
  }
  return out;
}

async function identitiesOf(imageRoot: SourceRoot): Promise<IdentityLookup> {
  const read = async (p: string) => {
    try {
      const e = await imageRoot.resolve(p);
      return e.type === "file" ? (await imageRoot.readFile(e, 4 << 20)).toString("utf8") : undefined;
    } catch {
      return undefined;
    }
  };
  return identityLookupFromFiles(await read("/etc/passwd"), await read("/etc/group"));
}

function located(df: Dockerfile, at: { line: number; column: number }, message: string, cause: unknown): BerthError {
  const kind = cause instanceof BerthError ? cause.kind : "InvalidArgument";
  return new BerthError(kind, `${df.file}:${at.line}:${at.column}: ${message}`, { cause });
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(() => resolve()));
}



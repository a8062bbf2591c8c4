/**
 * The instructions that change only the image config, applied as Docker applies them
 * (pure). Each returns the new config and what the step is in the cache key and in history.
 *
 * - Expansion (ENV, LABEL, EXPOSE, WORKDIR, USER, VOLUME, STOPSIGNAL): the config's Env
 *   first, then the ARGs in scope (an ENV of the same name wins), all words of one
 *   instruction against the environment before it (`ENV a=1 b=$a` gives b the old a).
 *   CMD, ENTRYPOINT, SHELL and HEALTHCHECK are not expanded (their shell does that).
 * - WORKDIR: relative to the previous one; cleaned.
 * - CMD and ENTRYPOINT: shell form runs under SHELL (default `/bin/sh -c`); an ENTRYPOINT
 *   drops a CMD the stage inherited from its base (set in the stage, it stays).
 * - EXPOSE: `80`, `80/udp`, `8000-8002/tcp` → ExposedPorts keys `80/tcp`, ....
 * - HEALTHCHECK NONE → Test ["NONE"]; CMD forms → ["CMD", ...] or ["CMD-SHELL", cmd].
 * - ONBUILD stores the trigger as written; MAINTAINER sets the author.
 */
import * as path from "node:path";
import { invalidArgument } from "../../../lib/errors.js";
import type { ImageRuntimeConfig } from "../../types.js";
import { expandWord, expandWords, lookupOf, type Lookup } from "../frontend/expand.js";
import type { CommandLine, Instruction } from "../frontend/types.js";

export const DEFAULT_SHELL = ["/bin/sh", "-c"];

export interface ConfigState {
  config: ImageRuntimeConfig;
  /** ARGs in scope with a value (declared in the stage, or globals re-declared). */
  args: Record<string, string>;
  /** CMD was set by this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  author?: string;
  escape: string;
}

export interface Applied {
  state: ConfigState;
  /** The instruction as it takes effect: the cache key's and history's text. */
  text: string;
}

export function envMap(config: ImageRuntimeConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of config.Env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    else out[kv] = "";
  }
  return out;
}

export function lookupFor(state: ConfigState): Lookup {
  return lookupOf(envMap(state.config), state.args);
}

/** argv of a command line under the config's SHELL. */
export function argvOf(cmd: CommandLine, config: ImageRuntimeConfig): string[] {
  return cmd.form === "exec" ? [...cmd.argv] : [...(config.Shell ?? DEFAULT_SHELL), cmd.script.value];
}

function setEnv(env: string[] | undefined, key: string, value: string): string[] {
  const out = (env ?? []).filter((kv) => kv.split("=")[0] !== key);
  out.push(`${key}=${value}`);
  return out;
}

const PORT_RE = /^([0-9]{1,5})(?:-([0-9]{1,5}))?(?:\/([a-zA-Z]+))?$/;

function exposedPorts(words: string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = PORT_RE.exec(w);
    const proto = (m?.[3] ?? "tcp").toLowerCase();
    const lo = Number(m?.[1]);
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || hi < lo || !["tcp", "udp", "sctp"].includes(proto)) throw invalidArgument(`invalid port ${JSON.stringify(w)} (expected PORT, PORT/PROTOCOL or FROM-TO/PROTOCOL; protocol tcp, udp or sctp)`);
    if (hi - lo > 10_000) throw invalidArgument(`port range ${JSON.stringify(w)} is too large`);
    for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** Applies a config-only instruction; InvalidArgument (without position: the caller adds it) for bad values. */
export function applyConfig(ins: Instruction, state: ConfigState): Applied {
  const opts = { escape: state.escape };
  const look = lookupFor(state);
  const word = (w: string) => expandWord(w, look, opts);
  const config: ImageRuntimeConfig = structuredClone(state.config);
  const next = (text: string, patch: Partial<ConfigState> = {}): Applied => ({ state: { ...state, config, ...patch }, text });
  switch (ins.keyword) {
    case "ENV": {
      const pairs = ins.pairs.map((p) => [word(p.key.value), word(p.value.value)] as const);
      for (const [k, v] of pairs) {
        if (k === "") throw invalidArgument("ENV names must not be empty");
        config.Env = setEnv(config.Env, k, v);
      }
      return next(`ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`);
    }
    case "LABEL": {
      const pairs = ins.pairs.map((p) => [word(p.key.value), word(p.value.value)] as const);
      config.Labels = { ...config.Labels };
      for (const [k, v] of pairs) {
        if (k === "") throw invalidArgument("LABEL names must not be empty");
        config.Labels[k] = v;
      }
      return next(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`);
    }
    case "EXPOSE": {
      const ports = exposedPorts(ins.ports.flatMap((p) => expandWords(p.value, look, opts)));
      config.ExposedPorts = { ...config.ExposedPorts };
      for (const p of ports) config.ExposedPorts[p] = {};
      return next(`EXPOSE ${ports.join(" ")}`);
    }
    case "WORKDIR": {
      const v = word(ins.value.value);
      if (v === "") throw invalidArgument("WORKDIR needs a path");
      config.WorkingDir = path.posix.resolve(config.WorkingDir || "/", v);
      return next(`WORKDIR ${config.WorkingDir}`);
    }
    case "USER": {
      const v = word(ins.value.value);
      if (v === "") throw invalidArgument("USER needs a user name or id");
      config.User = v;
      return next(`USER ${v}`);
    }
    case "STOPSIGNAL": {
      const v = word(ins.value.value);
      if (!/^(SIG[A-Z0-9+-]+|[0-9]+)$/.test(v.toUpperCase())) throw invalidArgument(`invalid STOPSIGNAL ${JSON.stringify(v)}`);
      config.StopSignal = v;
      return next(`STOPSIGNAL ${v}`);
    }
    case "MAINTAINER": {
      const v = word(ins.value.value);
      return next(`MAINTAINER ${v}`, { author: v });
    }
    case "VOLUME": {
      const paths = ins.form === "exec" ? ins.paths.map((p) => p.value) : ins.paths.flatMap((p) => expandWords(p.value, look, opts));
      if (paths.length === 0 || paths.some((p) => p.trim() === "")) throw invalidArgument("VOLUME needs at least one path");
      config.Volumes = { ...config.Volumes };
      for (const p of paths) config.Volumes[p] = {};
      return next(`VOLUME ${JSON.stringify(paths)}`);
    }
    case "CMD": {
      config.Cmd = argvOf(ins.command, config);
      return next(`CMD ${JSON.stringify(config.Cmd)}`, { cmdSet: true });
    }
    case "ENTRYPOINT": {
      config.Entrypoint = argvOf(ins.command, config);
      if (!state.cmdSet) config.Cmd = null;
      return next(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
    }
    case "SHELL": {
      if (ins.argv.length === 0) throw invalidArgument("SHELL needs a JSON array of at least one string");
      config.Shell = [...ins.argv];
      return next(`SHELL ${JSON.stringify(config.Shell)}`);
    }
    case "HEALTHCHECK": {
      const h = ins.health;
      if (h.type === "NONE") config.Healthcheck = { Test: ["NONE"] };
      else {
        const test = h.command.form === "exec" ? ["CMD", ...h.command.argv] : ["CMD-SHELL", h.command.script.value];
        config.Healthcheck = {
          Test: test,
          ...(h.interval ? { Interval: h.interval } : {}),
          ...(h.timeout ? { Timeout: h.timeout } : {}),
          ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
          ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
          ...(h.retries ? { Retries: h.retries } : {}),
        };
      }
      return next(`HEALTHCHECK ${JSON.stringify(config.Healthcheck)}`);
    }
    case "ONBUILD": {
      const trigger = `${ins.trigger.keyword} ${ins.trigger.raw.value}`.trim();
      config.OnBuild = [...(config.OnBuild ?? []), trigger];
      return next(`ONBUILD ${trigger}`);
    }
    default:
      throw invalidArgument(`${ins.keyword} is not a config instruction`);
  }
}

export const CONFIG_KEYWORDS = new Set(["ENV", "LABEL", "EXPOSE", "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER", "VOLUME", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "ONBUILD"]);

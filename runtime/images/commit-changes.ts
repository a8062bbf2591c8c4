/**
 * `docker commit --change` (issue 10): Dockerfile instructions applied in order to the
 * container's image config, as moby's BuildFromConfig applies them
 * (builder/dockerfile/evaluator.go, dispatchers.go). The instructions Docker's commit takes
 * are CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and
 * WORKDIR; anything else (RUN, COPY, FROM, SHELL, ...) is refused as Docker refuses it ("...
 * is not a valid change command"). CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER and
 * WORKDIR are applyChange's (image-changes.ts, which `berth image import --change` uses
 * too); VOLUME, ONBUILD and HEALTHCHECK are here.
 *
 * As in a Dockerfile: the shell form of CMD and ENTRYPOINT runs under the config's SHELL
 * (default /bin/sh -c); ENTRYPOINT clears the image's CMD unless a CMD came before it in the
 * same changes (dispatchEntrypoint: `if !d.state.cmdSet { runConfig.Cmd = nil }`); ONBUILD
 * stores its trigger as written (not ONBUILD, FROM or MAINTAINER); HEALTHCHECK NONE, or
 * `[--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD ...`
 * (exec form `["CMD", ...]`, shell form `["CMD-SHELL", cmd]`; durations in nanoseconds).
 *
 * Pure; throws InvalidArgument `<what>: change "<instruction>": <why>`.
 */
import { errorMessage, invalidArgument } from "../../lib/errors.js";
import { parseDuration } from "../../lib/units.js";
import type { ImageHealthcheck, ImageRuntimeConfig } from "../types.js";
import { applyChange } from "./image-changes.js";

const VALID = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];

export function applyCommitChanges(base: ImageRuntimeConfig, changes: readonly string[], what: string): ImageRuntimeConfig {
  let config: ImageRuntimeConfig = structuredClone(base);
  let cmdSet = false;
  for (const change of changes) {
    const fail = (why: string) => invalidArgument(`${what}: change ${JSON.stringify(change)}: ${why}`);
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*?))?\s*$/.exec(change);
    if (!m) throw fail("expected an instruction and its arguments, e.g. CMD [\"sh\"]");
    const instr = m[1]!.toUpperCase();
    const rest = m[2] ?? "";
    if (!VALID.includes(instr)) throw fail(`${instr} is not a valid change command (expected ${VALID.join(", ")})`);
    if (rest === "") throw fail(`${instr} requires at least one argument`);
    if (instr === "VOLUME") {
      config = { ...config, Volumes: { ...(config.Volumes ?? {}), ...Object.fromEntries(volumePaths(rest, fail).map((p) => [p, {}])) } };
      continue;
    }
    if (instr === "ONBUILD") {
      const trigger = /^[A-Za-z]+/.exec(rest)?.[0]?.toUpperCase();
      if (trigger === "ONBUILD") throw fail("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === "FROM" || trigger === "MAINTAINER") throw fail(`${trigger} isn't allowed as an ONBUILD trigger`);
      config = { ...config, OnBuild: [...(config.OnBuild ?? []), rest] };
      continue;
    }
    if (instr === "HEALTHCHECK") {
      config = { ...config, Healthcheck: healthcheckOf(rest, fail) };
      continue;
    }
    try {
      config = applyChange(config, change);
    } catch (err) {
      throw fail(errorMessage(err));
    }
    const shellForm = !rest.startsWith("[");
    if (instr === "CMD") {
      cmdSet = true;
      if (shellForm && config.Shell) config.Cmd = [...config.Shell, rest];
    }
    if (instr === "ENTRYPOINT") {
      if (shellForm && config.Shell) config.Entrypoint = [...config.Shell, rest];
      if (!cmdSet) delete config.Cmd;
    }
  }
  return config;
}

const HEALTH_FLAGS: Record<string, Exclude<keyof ImageHealthcheck, "Test">> = {
  interval: "Interval",
  timeout: "Timeout",
  "start-period": "StartPeriod",
  "start-interval": "StartInterval",
  retries: "Retries",
};

/** HEALTHCHECK's arguments (see the header). */
function healthcheckOf(rest: string, fail: (why: string) => Error): ImageHealthcheck {
  if (/^NONE$/i.test(rest)) return { Test: ["NONE"] };
  const out: ImageHealthcheck = {};
  let text = rest;
  for (let m = /^--([a-z-]+)=(\S*)\s+/.exec(text); m; m = /^--([a-z-]+)=(\S*)\s+/.exec(text)) {
    const field = HEALTH_FLAGS[m[1]!];
    if (!field) throw fail(`unknown HEALTHCHECK flag --${m[1]} (expected ${Object.keys(HEALTH_FLAGS).map((f) => `--${f}`).join(", ")})`);
    const v = m[2]!;
    if (field === "Retries") {
      if (!/^[0-9]+$/.test(v)) throw fail(`--retries ${JSON.stringify(v)} is not a whole number`);
      out.Retries = Number(v);
    } else {
      let ms: number;
      try {
        ms = v === "0" ? 0 : parseDuration(v);
      } catch {
        throw fail(`--${m[1]} ${JSON.stringify(v)} is not a duration (e.g. 30s, 1m30s)`);
      }
      if (ms !== 0 && ms < 1) throw fail(`--${m[1]} ${v} cannot be less than 1ms`);
      out[field] = Math.round(ms * 1e6);
    }
    text = text.slice(m[0].length);
  }
  const cmd = /^CMD\s+([\s\S]+)$/i.exec(text);
  if (!cmd) throw fail("expected NONE, or CMD and the check's command");
  const arg = cmd[1]!;
  if (arg.startsWith("[")) {
    let argv: unknown;
    try {
      argv = JSON.parse(arg);
    } catch {
      throw fail("not a JSON array of strings");
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((x) => typeof x === "string")) throw fail("expected a JSON array of strings");
    out.Test = ["CMD", ...(argv as string[])];
  } else out.Test = ["CMD-SHELL", arg];
  return out;
}

/** `VOLUME ["/a", "/b"]` or `VOLUME /a /b`: absolute paths. */
function volumePaths(rest: string, fail: (why: string) => Error): string[] {
  let paths: unknown;
  if (rest.startsWith("[")) {
    try {
      paths = JSON.parse(rest);
    } catch {
      throw fail("not a JSON array of strings");
    }
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) throw fail("expected a JSON array of strings");
  } else paths = rest.split(/\s+/);
  const list = paths as string[];
  if (list.length === 0) throw fail("VOLUME requires at least one path");
  for (const p of list) if (!p.startsWith("/")) throw fail(`volume path ${JSON.stringify(p)} is not absolute`);
  return list;
}

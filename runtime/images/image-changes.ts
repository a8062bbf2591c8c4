import { splitShellWords } from "../../lib/shell-words.js";
import type { ImageRuntimeConfig } from "../types.js";

/**
 * Applies `docker import --change` instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL,
 * EXPOSE, STOPSIGNAL) to an image config. JSON-array forms are taken as argv; the shell
 * form of CMD/ENTRYPOINT becomes ["/bin/sh", "-c", text] as in a Dockerfile. Throws
 * RangeError naming the instruction on bad input.
 */
export function applyChange(config: ImageRuntimeConfig, change: string): ImageRuntimeConfig {
  const m = /^\s*([A-Za-z]+)\s+([\s\S]*?)\s*$/.exec(change);
  if (!m) throw new RangeError(`invalid change ${JSON.stringify(change)}: expected INSTRUCTION arguments`);
  const instr = m[1]!.toUpperCase();
  const rest = m[2]!;
  const argvOf = (): string[] => {
    if (rest.startsWith("[")) {
      let v: unknown;
      try {
        v = JSON.parse(rest);
      } catch {
        throw new RangeError(`invalid ${instr} ${rest}: not a JSON array of strings`);
      }
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new RangeError(`invalid ${instr} ${rest}: expected a JSON array of strings`);
      return v as string[];
    }
    return ["/bin/sh", "-c", rest];
  };
  const out: ImageRuntimeConfig = { ...config };
  switch (instr) {
    case "CMD":
      out.Cmd = argvOf();
      return out;
    case "ENTRYPOINT":
      out.Entrypoint = argvOf();
      return out;
    case "ENV": {
      const env = [...(out.Env ?? [])];
      const pairs = rest.includes("=")
        ? splitShellWords(rest).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)] as const)
        : [[rest.split(/\s+/)[0]!, rest.slice(rest.split(/\s+/)[0]!.length).trim()] as const];
      for (const [k, v] of pairs) {
        if (!k) throw new RangeError(`invalid ENV ${rest}`);
        const i = env.findIndex((e) => e.startsWith(`${k}=`));
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      out.Env = env;
      return out;
    }
    case "WORKDIR":
      if (!rest.startsWith("/")) throw new RangeError(`invalid WORKDIR ${rest}: expected an absolute path`);
      out.WorkingDir = rest;
      return out;
    case "USER":
      out.User = rest;
      return out;
    case "LABEL": {
      const labels = { ...(out.Labels ?? {}) };
      for (const w of splitShellWords(rest)) {
        const i = w.indexOf("=");
        if (i <= 0) throw new RangeError(`invalid LABEL ${rest}: expected key=value`);
        labels[w.slice(0, i)] = w.slice(i + 1);
      }
      out.Labels = labels;
      return out;
    }
    case "EXPOSE": {
      const ports = { ...(out.ExposedPorts ?? {}) };
      for (const p of rest.split(/\s+/)) {
        if (!/^[0-9]{1,5}(\/(tcp|udp|sctp))?$/.test(p)) throw new RangeError(`invalid EXPOSE ${p}`);
        ports[p.includes("/") ? p : `${p}/tcp`] = {};
      }
      out.ExposedPorts = ports;
      return out;
    }
    case "STOPSIGNAL":
      out.StopSignal = rest;
      return out;
    default:
      throw new RangeError(`unsupported change instruction ${instr}: expected CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE or STOPSIGNAL`);
  }
}

import type { ContainerSpecInput } from "../../../schemas/index.js";
import { specPath, type Problems } from "../problems.js";

/**
 * A container's `env` in any of its forms (a map, a list of `{name, value}`, `NAME=value` or
 * a bare `NAME` for an empty value) as a list in order; a name set twice in a list is a problem.
 */
export function normalizeEnv(e: ContainerSpecInput["env"], p: Problems): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  if (e === undefined) return out;
  if (Array.isArray(e)) {
    e.forEach((item, i) => {
      const entry =
        typeof item === "string"
          ? item.includes("=")
            ? { name: item.slice(0, item.indexOf("=")), value: item.slice(item.indexOf("=") + 1) }
            : { name: item, value: "" }
          : { name: item.name, value: item.value === undefined ? "" : String(item.value) };
      if (out.some((x) => x.name === entry.name)) p.add(specPath("env", i), `variable ${entry.name} is set twice`);
      out.push(entry);
    });
  } else {
    for (const [name, value] of Object.entries(e)) out.push({ name, value: value === null ? "" : String(value) });
  }
  return out;
}

import { parseSize } from "../../../lib/units.js";
import type { ContainerSpecInput } from "../../../schemas/index.js";
import type { Mount } from "../model.js";
import type { Problems, Seg } from "../problems.js";
import { checkMountTarget, parseMountShortSyntax, VOLUME_NAME_RE } from "../short-syntax/mounts.js";
import { resolvePath } from "./scalars.js";
import type { NormalizeOptions } from "./types.js";

type MountInput = NonNullable<ContainerSpecInput["mounts"]>[number];

/** A container's `mounts`, short and long forms, then no target mounted twice. */
export function normalizeMounts(list: MountInput[], at: Seg, o: NormalizeOptions, p: Problems): Mount[] {
  const mounts = list.flatMap((m, i) => normalizeMount(m, [...at, i], o, p));
  const targets = new Map<string, number>();
  list.forEach((_, i) => {
    const m = mounts[i];
    if (!m) return;
    const prev = targets.get(m.target);
    if (prev !== undefined) p.add([...at, i, "target"], `${m.target} is already mounted by mounts[${prev}]`);
    else targets.set(m.target, i);
  });
  return mounts;
}

function normalizeMount(m: MountInput, at: Seg, o: NormalizeOptions, p: Problems): Mount[] {
  if (m === null || (typeof m !== "string" && typeof m !== "object")) return []; // a schema error already
  if (typeof m === "string") return parseMountShortSyntax(m, at, o.baseDir, p);
  const target = checkMountTarget(m.target, [...at, "target"], p);
  if (!target) return [];
  const readOnly = m.readOnly ?? false;
  if (m.type !== "tmpfs" && (m.size !== undefined || m.mode !== undefined)) {
    p.add([...at, m.size !== undefined ? "size" : "mode"], `${m.size !== undefined ? "size" : "mode"} applies only to tmpfs mounts`);
  }
  switch (m.type) {
    case "tmpfs": {
      if (m.source !== undefined) p.add([...at, "source"], "tmpfs mounts take no source");
      const t: Mount = { type: "tmpfs", target, readOnly };
      if (m.size !== undefined) t.sizeBytes = parseSize(m.size);
      if (m.mode !== undefined) t.mode = parseInt(m.mode, 8);
      return [t];
    }
    case "bind":
      if (!m.source) {
        p.add([...at, "source"], 'missing required field "source": the host path to bind');
        return [];
      }
      return [{ type: "bind", source: resolvePath(o.baseDir, m.source), target, readOnly }];
    case "volume":
      if (m.source !== undefined && !VOLUME_NAME_RE.test(m.source)) {
        p.add([...at, "source"], `volume name ${JSON.stringify(m.source)} is not valid: expected lowercase letters, digits and '-'`);
        return [];
      }
      return [m.source ? { type: "volume", source: m.source, target, readOnly } : { type: "volume", target, readOnly }];
  }
}

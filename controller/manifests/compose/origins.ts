/**
 * Where each part of a Compose model came from. A model is plain data (what `toJS` gives,
 * then interpolated in place and merged by extends/include/overrides); this side table maps
 * every mapping and list of it to the document and path it was read at, or, for one built by
 * a merge, each key to where its value came from. `place` walks a model path and answers
 * with the most specific origin it finds, so an error about `services.web.ports[1]` points
 * at that item in whichever file it was written, even through `extends`.
 */
import { locate, type ParsedDocument, type Position } from "../parse.js";
import type { Seg } from "../problems.js";

export interface Origin {
  parsed: ParsedDocument;
  path: Seg;
}

type Entry = { whole: Origin } | { keys: Map<string, Origin> };

export interface Place extends Position {
  file: string;
}

export class Origins {
  private readonly table = new WeakMap<object, Entry>();

  /** Records `value` and every container under it as read at `path` of `parsed` (first record wins: an alias's target keeps its anchor's place). */
  register(value: unknown, parsed: ParsedDocument, path: Seg): void {
    const stack: { v: unknown; p: Seg }[] = [{ v: value, p: path }];
    while (stack.length) {
      const { v, p } = stack.pop()!;
      if (v === null || typeof v !== "object" || this.table.has(v)) continue;
      this.table.set(v, { whole: { parsed, path: p } });
      if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, p: [...p, i] }));
      else for (const [k, x] of Object.entries(v)) stack.push({ v: x, p: [...p, k] });
    }
  }

  /** Records that key `key` of the merged container `target` came from `origin`. */
  setKey(target: object, key: string | number, origin: Origin | undefined): void {
    if (!origin) return;
    let e = this.table.get(target);
    if (!e || "whole" in e) {
      const keys = new Map<string, Origin>();
      if (e && "whole" in e) {
        const whole = e.whole;
        for (const k of Object.keys(target)) keys.set(k, { parsed: whole.parsed, path: [...whole.path, Array.isArray(target) ? Number(k) : k] });
      }
      e = { keys };
      this.table.set(target, e);
    }
    e.keys.set(String(key), origin);
  }

  /** The origin of the value at `key` of `container`, when known. */
  originOf(container: object, key: string | number): Origin | undefined {
    const e = this.table.get(container);
    if (!e) return undefined;
    if ("whole" in e) return { parsed: e.whole.parsed, path: [...e.whole.path, key] };
    return e.keys.get(String(key));
  }

  /** The origin of a container itself. */
  originOfContainer(container: object): Origin | undefined {
    const e = this.table.get(container);
    return e && "whole" in e ? e.whole : undefined;
  }

  /** Where the value at `path` under `root` was written (`key`: its key), as far as it is known. */
  place(root: unknown, path: Seg, options: { key?: boolean } = {}): Place | undefined {
    let best: Origin | undefined = root !== null && typeof root === "object" ? this.originOfContainer(root) : undefined;
    let rest: Seg = path;
    let node: unknown = root;
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== "object") break;
      const o = this.originOf(node, path[i]!);
      if (o) {
        best = o;
        rest = path.slice(i + 1);
      }
      node = (node as Record<string, unknown>)[path[i] as string];
    }
    if (!best) return undefined;
    const pos = locate(best.parsed, [...best.path, ...rest], options);
    return { file: best.parsed.file, line: pos.line, column: pos.column };
  }
}

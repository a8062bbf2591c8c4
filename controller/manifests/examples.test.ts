import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../schemas/index.js";
import { loadManifests } from "./load.js";

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples");

describe("examples/", () => {
  it("are all valid, and cover every kind", async () => {
    const r = await loadManifests([examples], { recursive: true });
    expect(r.diagnostics).toEqual([]);
    expect(new Set(r.objects.map((o) => o.kind))).toEqual(new Set(KINDS));
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeValidatorSource } from "./compile-validators.js";
import { composeAjv, composeSchema } from "./compose.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

describe("the Compose schema's precompiled validator (dist/schemas/compose-validator.cjs)", () => {
  it("gives exactly the errors of the validator compiled at run time, formats included", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-compose-validator-"));
    try {
      const file = path.join(dir, "compose-validator.cjs");
      writeFileSync(file, composeValidatorSource().replaceAll('require("ajv/', `require(${JSON.stringify(root + "/node_modules/ajv/")}+"`));
      const pre = (createRequire(import.meta.url)(file) as { compose: ReturnType<ReturnType<typeof composeAjv>["compile"]> }).compose;
      const runtime = composeAjv().compile(composeSchema());
      const docs: unknown[] = [
        parse(readFileSync(path.join(root, "examples/compose/compose.yaml"), "utf8"), { merge: true }),
        { services: { web: { image: "x", helthcheck: {} } } },
        { services: { web: { image: "x", expose: ["80/tcp", "eighty"], ports: [70000] } } },
        { services: { web: { image: "x", depends_on: { db: { condition: "service_ready" } } } } },
        { services: { web: { image: "x", healthcheck: { interval: "5 parsecs" } } } },
      ];
      for (const doc of docs) {
        expect(pre(doc)).toBe(runtime(doc));
        const strip = (errs: typeof runtime.errors) => (errs ?? []).map((e) => [e.instancePath, e.schemaPath, e.keyword, e.params]);
        expect(strip(pre.errors)).toEqual(strip(runtime.errors));
      }
      expect(pre(docs[0])).toBe(true);
      expect(pre(docs[2])).toBe(false); // "eighty" is no `expose` format
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

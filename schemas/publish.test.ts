import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "./ajv-options.js";
import { validatorsSource } from "./compile-validators.js";
import { KIND_INFO, KINDS } from "./index.js";
import { publishedSchemas, render, SCHEMAS_DIR } from "./publish.js";

const root = path.resolve(SCHEMAS_DIR, "..");

function exampleDocuments(): { file: string; doc: unknown }[] {
  const out: { file: string; doc: unknown }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        const text = readFileSync(p, "utf8");
        if (/^services:/m.test(text) && !/^kind:/m.test(text)) continue; // a Compose file (examples/compose): the Compose Specification's schema, not berth's
        for (const d of parseAllDocuments(text)) out.push({ file: p, doc: d.toJS() });
      }
    }
  };
  walk(path.join(root, "examples"));
  return out;
}

describe("published JSON Schemas", () => {
  it("are what the sources generate (run `npm run build` after changing schemas/*.ts)", () => {
    for (const [name, doc] of Object.entries(publishedSchemas())) {
      expect(readFileSync(path.join(SCHEMAS_DIR, name), "utf8"), name).toBe(render(doc));
    }
  });

  it("let a plain JSON Schema validator (as editors use) accept every example and reject a typo", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMAS_DIR, "berth.json"), "utf8")));
    const docs = exampleDocuments();
    expect(docs.length).toBeGreaterThan(10);
    for (const { file, doc } of docs) expect(validate(doc), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    expect(validate({ apiVersion: "berth/v1", kind: "Container", metadata: { name: "x" }, spec: { imagee: "busybox" } })).toBe(false);
    expect(validate({ apiVersion: "berth/v1", kind: "Volume", metadata: { name: "x" } })).toBe(true);
  });
});

describe("precompiled validators (the build's dist/schemas/validators.cjs)", () => {
  it("give exactly the errors of validators compiled at run time", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-validators-"));
    try {
      const file = path.join(dir, "validators.cjs");
      // The module requires ajv's runtime helpers: resolve them from this repo.
      writeFileSync(file, validatorsSource().replaceAll('require("ajv/', `require(${JSON.stringify(root + "/node_modules/ajv/")}+"`));
      const pre = createRequire(import.meta.url)(file) as Record<string, (d: unknown) => boolean & { errors?: unknown }>;
      const ajv = new Ajv(AJV_OPTIONS);
      for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
      const docs = [
        ...exampleDocuments().map((d) => d.doc),
        { apiVersion: "berth/v1", kind: "Container", metadata: { name: "X" }, spec: { imagee: 1, ports: [70000, "a:b", true], restartPolicy: "sometimes" } },
        { apiVersion: "berth/v1", kind: "Image", metadata: { name: "i" }, spec: { pull: "x", build: { context: "." }, pullPolicy: "Always" } },
        { apiVersion: "berth/v1", kind: "HealthCheck", metadata: { name: "h" }, spec: { target: { selector: {} }, tcp: { port: 0 } } },
      ];
      for (const kind of KINDS) {
        const runtime = ajv.compile(KIND_INFO[kind].schema);
        const precompiled = pre[kind] as unknown as typeof runtime;
        for (const doc of docs.filter((d) => (d as { kind: string }).kind === kind)) {
          expect(precompiled(doc)).toBe(runtime(doc));
          const strip = (errs: typeof runtime.errors) => (errs ?? []).map((e) => [e.instancePath, e.schemaPath, e.keyword, e.params, e.data]);
          expect(strip(precompiled.errors)).toEqual(strip(runtime.errors));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { publishedSchemas, render, SCHEMAS_DIR } from "./publish.js";

const root = path.resolve(SCHEMAS_DIR, "..");

function exampleDocuments(): { file: string; doc: unknown }[] {
  const out: { file: string; doc: unknown }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) for (const d of parseAllDocuments(readFileSync(p, "utf8"))) out.push({ file: p, doc: d.toJS() });
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

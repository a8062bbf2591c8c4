import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { AJV_OPTIONS, ANNOTATION_KEYWORDS } from "./ajv-options.js";
import { API_BODY_SCHEMAS, ObjectView } from "./api.js";
import { apiValidatorsSource } from "./compile-validators.js";
import { SCHEMAS_DIR } from "./publish.js";

const root = path.resolve(SCHEMAS_DIR, "..");

function runtimeAjv() {
  const ajv = new Ajv(AJV_OPTIONS);
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, schemaType: "string" });
  return ajv;
}

const files = [{ file: "a.yaml", text: "kind: Volume\n", baseDir: "/srv" }];
/** Request bodies by schema, valid and not. */
const BODIES: Record<keyof typeof API_BODY_SCHEMAS, unknown[]> = {
  ApplyRequest: [
    { stack: "web", files },
    { stack: "web", files: [], prune: true, dryRun: false, allowPrivileged: true },
    { stack: "Web_1", files: [{ file: "", text: 1, baseDir: "/", extra: 1 }], prune: "yes", force: true },
    { files: "x" },
    [],
    null,
  ],
  ExecRequest: [
    { argv: ["sh", "-c", ""], env: { A: "1" }, user: "1000:1000", workingDir: "/tmp", timeoutMs: 0 },
    { argv: [] },
    { argv: ["a\u0000b"], env: { "A=B": "1", C: 2 }, timeoutMs: 1.5, user: "" },
    { argvv: ["sh"] },
  ],
  AttachRequest: [{}, { size: { cols: 80, rows: 24 } }, { size: { cols: 0, rows: 24 } }, { size: { cols: 80 } }, { detach: true }],
  ImageTagRequest: [{ source: "a", target: "b:1" }, { source: "a" }, { source: "a", target: "x".repeat(1025), force: true }],
  ImagePruneRequest: [{}, { all: true }, { all: "yes" }, { dangling: true }],
  ContainerCommitRequest: [
    {},
    { reference: "localhost/web:2", changes: ['CMD ["sh"]', "ENV A=1"], comment: "fixed", author: "me <me@example.com>" },
    { changes: [""] },
    { reference: "" },
    { changes: "CMD sh" },
    { pause: false },
  ],
  ImageBuildRequest: [
    { context: "/src", tags: ["localhost/app:1"] },
    { context: "/src", dockerfileText: "FROM scratch\n", tags: [], buildArgs: { A: "1" }, target: "build", noCache: true, network: "none" },
    { context: "", tags: [] },
    { context: "/src", tags: ["a"], network: "overlay" },
    { context: "/src", tags: ["a"], buildArgs: { "A=B": "1" } },
  ],
  ImagePullRequest: [{ reference: "busybox" }, { reference: "busybox", allTags: true }, { reference: "" }, { ref: "busybox" }],
  ImagePushRequest: [{ reference: "localhost:5000/app:1" }, { reference: "a", allTags: true }],
  RegistryLoginRequest: [{ registry: "docker.io", username: "me", password: "" }, { registry: "docker.io", username: "", password: "x" }, { registry: "r", username: "me" }],
  RegistryLogoutRequest: [{ registry: "docker.io" }, {}],
  SourceRegisterRequest: [
    { stack: "web", dir: "/srv/web" },
    { stack: "web", git: { url: "file:///srv/repo.git", branch: "main", path: "deploy", intervalMs: 60_000 }, sync: "manual", prune: false, allow: ["privileged", "hostNetwork"] },
    { stack: "web", git: { url: "--upload-pack=touch /tmp/x", branch: "-x" } },
    { stack: "web", git: { url: "u", branch: "a..b" }, allow: ["root"] },
    { stack: "web", dir: "/srv", sync: "sometimes", interval: 1 },
  ],
};

describe("API body schemas", () => {
  it("accept what the CLI sends and refuse the rest", () => {
    const ajv = runtimeAjv();
    const valid = (name: keyof typeof API_BODY_SCHEMAS, body: unknown) => ajv.compile(API_BODY_SCHEMAS[name])(body);
    expect(BODIES.ApplyRequest.map((b) => valid("ApplyRequest", b))).toEqual([true, true, false, false, false, false]);
    expect(BODIES.ExecRequest.map((b) => valid("ExecRequest", b))).toEqual([true, false, false, false]);
    expect(BODIES.AttachRequest.map((b) => valid("AttachRequest", b))).toEqual([true, true, false, false, false]);
    expect(BODIES.ImageTagRequest.map((b) => valid("ImageTagRequest", b))).toEqual([true, false, false]);
    expect(BODIES.ImagePruneRequest.map((b) => valid("ImagePruneRequest", b))).toEqual([true, true, false, false]);
    expect(BODIES.ContainerCommitRequest.map((b) => valid("ContainerCommitRequest", b))).toEqual([true, true, false, false, false, false]);
    expect(BODIES.ImageBuildRequest.map((b) => valid("ImageBuildRequest", b))).toEqual([true, true, false, false, false]);
    expect(BODIES.ImagePullRequest.map((b) => valid("ImagePullRequest", b))).toEqual([true, true, false, false]);
    expect(BODIES.ImagePushRequest.map((b) => valid("ImagePushRequest", b))).toEqual([true, false]);
    expect(BODIES.RegistryLoginRequest.map((b) => valid("RegistryLoginRequest", b))).toEqual([true, false, false]);
    expect(BODIES.RegistryLogoutRequest.map((b) => valid("RegistryLogoutRequest", b))).toEqual([true, false]);
    expect(BODIES.SourceRegisterRequest.map((b) => valid("SourceRegisterRequest", b))).toEqual([true, true, false, false, false]);
    expect(valid("ApplyRequest", { stack: "web", files, allow: ["hostPid", "hostIpc"] })).toBe(true);
    expect(valid("ApplyRequest", { stack: "web", files, allow: ["everything"] })).toBe(false);
  });

  it("type the status of each kind, with nothing untyped beside it", () => {
    const validate = runtimeAjv().compile(ObjectView);
    const view = (kind: string, status: unknown) => ({
      apiVersion: "berth/v1",
      kind,
      metadata: { name: "x", labels: {}, annotations: {}, stack: "s", generation: 2, createdAt: "t", updatedAt: "t" },
      spec: null,
      status,
    });
    const ok = [
      view("Container", { phase: "Running", health: "healthy", restartCount: 1, pid: 7, observedGeneration: 2, healthResults: [{ start: "t", end: "t", result: "success", output: "" }] }),
      view("Image", { ready: true, observedGeneration: 2, digest: "sha256:aa", id: "sha256:bb", size: 10 }),
      view("Volume", { ready: true, mountpoint: "/var/lib/berth/volumes/x" }),
      view("Network", { ready: false, reason: "Pending", message: "m" }),
      view("HealthCheck", { ready: true, matched: ["web"] }),
    ];
    for (const v of ok) expect(validate(v), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(view("Volume", { ready: true, details: { mountpoint: "/x" } }))).toBe(false);
    expect(validate(view("Image", { ready: true, size: -1 }))).toBe(false);
    expect(validate(view("Container", { phase: "Running", health: "none", restartCount: 0, observedGeneration: 1.5 }))).toBe(false);
  });
});

describe("precompiled API body validators (the build's dist/schemas/api-validators.cjs)", () => {
  it("give exactly the errors of validators compiled at run time", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "berth-api-validators-"));
    try {
      const file = path.join(dir, "api-validators.cjs");
      // The module requires ajv's runtime helpers: resolve them from this repo.
      writeFileSync(file, apiValidatorsSource().replaceAll('require("ajv/', `require(${JSON.stringify(root + "/node_modules/ajv/")}+"`));
      const pre = createRequire(import.meta.url)(file) as Record<string, ValidateFunction>;
      const ajv = runtimeAjv();
      const strip = (errs: ValidateFunction["errors"]) => (errs ?? []).map((e) => [e.instancePath, e.schemaPath, e.keyword, e.params, e.data]);
      for (const [name, bodies] of Object.entries(BODIES)) {
        const runtime = ajv.compile(API_BODY_SCHEMAS[name as keyof typeof API_BODY_SCHEMAS]);
        const precompiled = pre[name]!;
        expect(precompiled, name).toBeTypeOf("function");
        for (const body of bodies) {
          expect(precompiled(body)).toBe(runtime(body));
          expect(strip(precompiled.errors)).toEqual(strip(runtime.errors));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

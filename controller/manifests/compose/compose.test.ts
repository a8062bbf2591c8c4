import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerObject, ImageObject, NetworkObject, VolumeObject } from "../model.js";
import { loadManifests, loadManifestTexts } from "../load.js";
import { loadProject, projectDir } from "./testing.js";

const byName = <T extends { metadata: { name: string } }>(objects: unknown[], kind: string, name: string) =>
  (objects as (T & { kind: string })[]).find((o) => o.kind === kind && o.metadata.name === name);
const container = (objects: unknown[], name: string) => byName<ContainerObject>(objects, "Container", name)!;

const SHOP = `# The shop, as people write Compose files.
name: shop

x-restart: &restart
  restart: unless-stopped

x-healthcheck-defaults: &hc
  interval: 10s
  timeout: 3s
  retries: 5

services:
  web:
    <<: *restart
    build:
      context: ./web
      args:
        SITE_TITLE: \${SITE_TITLE:-The Shop}
    image: shop/web:\${TAG:-dev}
    ports:
      - "\${WEB_PORT:-8080}:80"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.1
    depends_on:
      api:
        condition: service_healthy
    networks: [front]
    healthcheck:
      test: wget -q -O /dev/null http://localhost/ || exit 1
      <<: *hc

  api:
    <<: *restart
    image: busybox:1.36
    command: httpd -f -p 3000 -h /srv
    working_dir: /srv
    environment:
      DATABASE_URL: postgres://app@db:5432/\${POSTGRES_DB}
      CACHE_URL: redis://cache:6379
      LOG_LEVEL:
    env_file:
      - ./api.env
      - path: ./api.local.env
        required: false
    secrets:
      - db_password
    depends_on:
      db:
        condition: service_healthy
        restart: true
      cache:
        condition: service_started
      migrate:
        condition: service_completed_successfully
    networks:
      front:
      back:
        aliases: [backend]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:3000/"]
      <<: *hc
      start_period: 5s
    mem_limit: 256m
    cpus: 0.5

  migrate:
    image: busybox:1.36
    command: ["sh", "-c", "echo migrating $$POSTGRES_DB"]
    depends_on: [db]
    networks: [back]

  db:
    image: busybox:1.36
    volumes:
      - db-data:/var/lib/postgresql/data
      - ./initdb:/docker-entrypoint-initdb.d:ro
    environment:
      - POSTGRES_DB=\${POSTGRES_DB}
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
    secrets: [db_password]
    networks: [back]
    healthcheck:
      test: ["CMD-SHELL", "test -f /var/lib/postgresql/data/ready"]
      <<: *hc
    deploy:
      resources:
        limits:
          memory: 1g
          pids: 200
    stop_grace_period: 30s

  cache:
    image: busybox:1.36
    networks: [back]
    tmpfs: /data
    healthcheck:
      disable: true

networks:
  front: {}
  back:
    internal: true

volumes:
  db-data:

secrets:
  db_password:
    file: ./secrets/db_password.txt
`;

function shop(extra: Record<string, string> = {}) {
  return projectDir({
    "compose.yaml": SHOP,
    ".env": "POSTGRES_DB=shop\nWEB_PORT=8081\nTAG=1.2\n",
    "api.env": "LOG_LEVEL=info\nWORKERS=4\n# a comment\nGREETING=\"hello ${POSTGRES_DB}\"\nRAW='no ${expansion}'\n",
    "secrets/db_password.txt": "s3cret\n",
    "web/Dockerfile": "FROM busybox\n",
    ...extra,
  });
}

describe("a realistic multi-service Compose file", () => {
  it("converts to the exact berth objects", async () => {
    const dir = shop();
    const r = await loadProject(dir, { env: { LOG_LEVEL: "debug" } });
    expect(r.messages).toEqual([]);
    expect(r.composeStack).toBe("shop");
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Image/shop-web", "Container/shop-web", "Container/shop-api", "Container/shop-migrate", "Container/shop-db", "Container/shop-cache",
      "Network/shop-front", "Network/shop-back", "Volume/shop-db-data",
    ]);
    const image = byName<ImageObject>(r.objects, "Image", "shop-web")!;
    expect(image.spec).toEqual({
      reference: "docker.io/shop/web:1.2",
      source: { type: "build", context: path.join(dir, "web"), args: { SITE_TITLE: "The Shop" } },
      pullPolicy: "ifNotPresent",
    });
    const web = container(r.objects, "shop-web");
    expect(web.spec.image).toBe("docker.io/shop/web:1.2");
    expect(web.spec.ports).toEqual([
      { containerPort: 80, hostPort: 8081, protocol: "tcp" },
      { containerPort: 443, hostPort: 8443, hostIP: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(web.spec.networks).toEqual([{ name: "shop-front", aliases: ["web"] }]);
    expect(web.spec.dependsOn).toEqual([{ name: "shop-api", condition: "healthy" }]);
    expect(web.spec.restartPolicy.name).toBe("unless-stopped");
    expect(web.spec.onUnhealthy).toBe("restart");
    expect(web.spec.healthcheck).toEqual({
      probe: { type: "shell", command: "wget -q -O /dev/null http://localhost/ || exit 1" },
      intervalMs: 10_000, timeoutMs: 3_000, retries: 5, startPeriodMs: 0, startIntervalMs: 5_000,
    });

    const api = container(r.objects, "shop-api");
    expect(api.spec.image).toBe("docker.io/library/busybox:1.36");
    expect(api.spec.args).toEqual(["httpd", "-f", "-p", "3000", "-h", "/srv"]);
    expect(api.spec.command).toBeUndefined();
    expect(api.spec.workingDir).toBe("/srv");
    // env_file first, environment over it; LOG_LEVEL without a value comes from the shell (over api.env's info)
    expect(api.spec.env).toEqual([
      { name: "WORKERS", value: "4" },
      { name: "GREETING", value: "hello shop" },
      { name: "RAW", value: "no ${expansion}" },
      { name: "DATABASE_URL", value: "postgres://app@db:5432/shop" },
      { name: "CACHE_URL", value: "redis://cache:6379" },
      { name: "LOG_LEVEL", value: "debug" },
    ]);
    expect(api.spec.mounts).toEqual([{ type: "bind", source: path.join(dir, "secrets/db_password.txt"), target: "/run/secrets/db_password", readOnly: true }]);
    expect(api.spec.networks).toEqual([
      { name: "shop-front", aliases: ["api"] },
      { name: "shop-back", aliases: ["api", "backend"] },
    ]);
    expect(api.spec.dependsOn).toEqual([
      { name: "shop-db", condition: "healthy", restart: true },
      { name: "shop-cache", condition: "started" },
      { name: "shop-migrate", condition: "completed" },
    ]);
    expect(api.spec.healthcheck).toEqual({
      probe: { type: "exec", argv: ["wget", "-q", "-O", "/dev/null", "http://localhost:3000/"] },
      intervalMs: 10_000, timeoutMs: 3_000, retries: 5, startPeriodMs: 5_000, startIntervalMs: 5_000,
    });
    expect(api.spec.resources).toEqual({ memoryBytes: 256 * 1024 * 1024, cpus: 0.5 });

    const migrate = container(r.objects, "shop-migrate");
    expect(migrate.spec.args).toEqual(["sh", "-c", "echo migrating $POSTGRES_DB"]);
    expect(migrate.spec.dependsOn).toEqual([{ name: "shop-db", condition: "started" }]);
    expect(migrate.spec.restartPolicy.name).toBe("no");

    const db = container(r.objects, "shop-db");
    expect(db.spec.mounts).toEqual([
      { type: "volume", source: "shop-db-data", target: "/var/lib/postgresql/data", readOnly: false },
      { type: "bind", source: path.join(dir, "initdb"), target: "/docker-entrypoint-initdb.d", readOnly: true },
      { type: "bind", source: path.join(dir, "secrets/db_password.txt"), target: "/run/secrets/db_password", readOnly: true },
    ]);
    expect(db.spec.env).toEqual([
      { name: "POSTGRES_DB", value: "shop" },
      { name: "POSTGRES_PASSWORD_FILE", value: "/run/secrets/db_password" },
    ]);
    expect(db.spec.resources).toEqual({ memoryBytes: 1024 ** 3, pids: 200 });
    expect(db.spec.stopGracePeriodMs).toBe(30_000);
    expect(db.spec.healthcheck?.probe).toEqual({ type: "shell", command: "test -f /var/lib/postgresql/data/ready" });

    const cache = container(r.objects, "shop-cache");
    expect(cache.spec.healthcheckDisabled).toBe(true);
    expect(cache.spec.mounts).toEqual([{ type: "tmpfs", target: "/data", readOnly: false }]);

    expect(byName<NetworkObject>(r.objects, "Network", "shop-back")!.spec.internal).toBe(true);
    expect(byName<NetworkObject>(r.objects, "Network", "shop-front")!.spec.internal).toBe(false);
    expect(byName<VolumeObject>(r.objects, "Volume", "shop-db-data")!.spec).toEqual({ driver: "local", options: {} });
    expect(r.hostGrants).toBeUndefined();
  });

  it("puts each object's source at its service", async () => {
    const r = await loadProject(shop());
    expect(container(r.objects, "shop-db").source).toMatchObject({ line: 74, column: 5 });
  });

  it("the shell's environment wins over .env, and a required variable's error is at its place", async () => {
    const dir = shop({ ".env": "WEB_PORT=8081\n" });
    const r = await loadProject(dir, { env: { WEB_PORT: "9000", POSTGRES_DB: "x" } });
    expect(container(r.objects, "shop-web").spec.ports[0]!.hostPort).toBe(9000);
    const dir2 = projectDir({ "compose.yaml": "services:\n  app:\n    image: busybox\n    environment:\n      TOKEN: \"x-${API_TOKEN:?set API_TOKEN in .env}\"\n" });
    const r2 = await loadProject(dir2);
    expect(r2.messages).toEqual(["compose.yaml:5:17: error: services.app.environment.TOKEN: required variable API_TOKEN is not set: set API_TOKEN in .env; write $$ for a literal $"]);
    expect(r2.objects).toEqual([]);
  });

  it("warns once about a variable that is not set, at its place", async () => {
    const dir = projectDir({ "compose.yaml": "services:\n  app:\n    image: busybox${TAG}\n    command: echo $TAG\n" });
    const r = await loadProject(dir);
    expect(r.messages).toEqual(["compose.yaml:3:19: warning: services.app.image: variable TAG is not set: defaulting to a blank string"]);
    expect(container(r.objects, "shop-app").spec.image).toBe("docker.io/library/busybox:latest");
  });
});

const one = (service: string, top = "") => projectDir({ "compose.yaml": `services:\n  app:\n    image: busybox\n${service}${top}` });

describe("ports", () => {
  it.each([
    ['"3000"', [{ containerPort: 3000, protocol: "tcp" }]],
    ["3000", [{ containerPort: 3000, protocol: "tcp" }]],
    ['"8080:80"', [{ containerPort: 80, hostPort: 8080, protocol: "tcp" }]],
    ['"127.0.0.1:5353:53/udp"', [{ containerPort: 53, hostPort: 5353, hostIP: "127.0.0.1", protocol: "udp" }]],
    ['"127.0.0.1::80"', [{ containerPort: 80, hostIP: "127.0.0.1", protocol: "tcp" }]],
    ['"9090-9091:8080-8081"', [{ containerPort: 8080, hostPort: 9090, protocol: "tcp" }, { containerPort: 8081, hostPort: 9091, protocol: "tcp" }]],
    ['"3000-3001"', [{ containerPort: 3000, protocol: "tcp" }, { containerPort: 3001, protocol: "tcp" }]],
    ['"[::1]:6001:6001"', [{ containerPort: 6001, hostPort: 6001, hostIP: "::1", protocol: "tcp" }]],
    ['"::1:6000:6000"', [{ containerPort: 6000, hostPort: 6000, hostIP: "::1", protocol: "tcp" }]],
    ["{ target: 80, published: 8080, protocol: udp }", [{ containerPort: 80, hostPort: 8080, protocol: "udp" }]],
    ['{ target: 80, published: "8000-8001" }', [{ containerPort: 80, hostPort: 8000, protocol: "tcp" }]],
    ["{ target: 80, host_ip: 127.0.0.1 }", [{ containerPort: 80, hostIP: "127.0.0.1", protocol: "tcp" }]],
    ["{ target: 80, mode: host }", [{ containerPort: 80, protocol: "tcp" }]],
  ])("%s", async (port, expected) => {
    const r = await loadProject(one(`    ports:\n      - ${port}\n`));
    if (String(port).includes("8000-8001")) {
      expect(r.messages[0]).toContain("compose.yaml:5:9: error: services.app.ports[0]: host port range 8000-8001 has 2 ports but container range 80 has 1");
      return;
    }
    expect(r.messages).toEqual([]);
    expect(container(r.objects, "shop-app").spec.ports).toEqual(expected);
  });

  it("an out-of-range port is an error at its item", async () => {
    const r = await loadProject(one('    ports:\n      - "80"\n      - "70000:80"\n'));
    expect(r.messages).toEqual(["compose.yaml:6:9: error: services.app.ports[1]: port 70000 is out of range: expected 1 to 65535"]);
  });
});

describe("volumes", () => {
  const top = "volumes:\n  data: {}\n  named:\n    name: exactly-this\n";
  it.each([
    ["data:/var/lib/x", [{ type: "volume", source: "shop-data", target: "/var/lib/x", readOnly: false }]],
    ["data:/var/lib/x:ro", [{ type: "volume", source: "shop-data", target: "/var/lib/x", readOnly: true }]],
    ["named:/n", [{ type: "volume", source: "exactly-this", target: "/n", readOnly: false }]],
    ["./site:/srv:ro", [{ type: "bind", source: "<dir>/site", target: "/srv", readOnly: true }]],
    ["../up:/up:rw", [{ type: "bind", source: "<parent>/up", target: "/up", readOnly: false }]],
    ["/abs:/in", [{ type: "bind", source: "/abs", target: "/in", readOnly: false }]],
    ["/anonymous", [{ type: "volume", target: "/anonymous", readOnly: false }]],
    ["{ type: volume, source: data, target: /d, read_only: true }", [{ type: "volume", source: "shop-data", target: "/d", readOnly: true }]],
    ["{ type: bind, source: ./conf, target: /etc/conf, bind: { create_host_path: true } }", [{ type: "bind", source: "<dir>/conf", target: "/etc/conf", readOnly: false }]],
    ["{ type: tmpfs, target: /cache, tmpfs: { size: 64m, mode: 1777 } }", [{ type: "tmpfs", target: "/cache", readOnly: false, sizeBytes: 64 * 1024 * 1024, mode: 0o1777 }]],
    ["{ type: volume, target: /anon }", [{ type: "volume", target: "/anon", readOnly: false }]],
  ])("%s", async (v, expected) => {
    const dir = one(`    volumes:\n      - ${v}\n`, top);
    const r = await loadProject(dir);
    expect(r.messages).toEqual([]);
    const fix = (m: Record<string, unknown>) => ({ ...m, ...(typeof m.source === "string" ? { source: m.source.replace("<dir>", dir).replace("<parent>", path.dirname(dir)) } : {}) });
    expect(container(r.objects, "shop-app").spec.mounts).toEqual(expected.map(fix));
  });

  it("tmpfs in its short forms", async () => {
    const r = await loadProject(one("    tmpfs:\n      - /run\n      - /tmp:size=1m,mode=1770\n"));
    expect(container(r.objects, "shop-app").spec.mounts).toEqual([
      { type: "tmpfs", target: "/run", readOnly: false },
      { type: "tmpfs", target: "/tmp", readOnly: false, sizeBytes: 1024 * 1024, mode: 0o1770 },
    ]);
  });

  it("an undeclared named volume and an unsupported type are located errors", async () => {
    const r = await loadProject(one("    volumes:\n      - cache:/c\n      - { type: npipe, source: x, target: /p }\n"));
    expect(r.messages).toEqual([
      "compose.yaml:5:9: error: services.app.volumes[0]: service app refers to undefined volume cache; declare it under the top-level volumes:",
      "compose.yaml:6:11: error: services.app.volumes[1].type: volume type npipe is not supported by berth: berth mounts volumes, binds and tmpfs",
    ]);
  });

  it("an external volume is used by its name and not created", async () => {
    const r = await loadProject(one("    volumes: [old:/o]\n", "volumes:\n  old:\n    external: true\n    name: legacy-data\n"));
    expect(container(r.objects, "shop-app").spec.mounts).toEqual([{ type: "volume", source: "legacy-data", target: "/o", readOnly: false }]);
    expect(r.objects.some((o) => o.kind === "Volume")).toBe(false);
  });
});

describe("depends_on", () => {
  const svc = (deps: string, extra = "") =>
    projectDir({ "compose.yaml": `services:\n  app:\n    image: busybox\n    depends_on:\n${deps}\n  db:\n    image: busybox\n  job:\n    image: busybox\n${extra}` });
  it("the short form waits for started", async () => {
    const r = await loadProject(svc("      - db\n      - job"));
    expect(container(r.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-db", condition: "started" }, { name: "shop-job", condition: "started" }]);
  });
  it("the long form maps each condition", async () => {
    const r = await loadProject(svc("      db: { condition: service_healthy }\n      job: { condition: service_completed_successfully }"));
    expect(container(r.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-db", condition: "healthy" }, { name: "shop-job", condition: "completed" }]);
  });
  it("required: false drops a dependency that is off, with a warning; required one that is off is an error", async () => {
    const extra = "  debug:\n    image: busybox\n    profiles: [debug]\n";
    const r = await loadProject(svc("      db: { condition: service_started }\n      debug: { condition: service_started, required: false }", extra));
    expect(r.messages).toEqual(["compose.yaml:6:14: warning: services.app.depends_on.debug: debug is disabled by its profiles and not required: not waited for"]);
    expect(container(r.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-db", condition: "started" }]);
    const r2 = await loadProject(svc("      - debug", extra));
    expect(r2.messages).toEqual(["compose.yaml:5:9: error: services.app.depends_on[0]: service app depends on debug, which is disabled by its profiles; enable one of its profiles (--profile debug)"]);
    const r3 = await loadProject(svc("      - debug", extra), { profiles: ["debug"] });
    expect(container(r3.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-debug", condition: "started" }]);
    // enabled, an optional dependency is kept as such: waited for, and skipped if it fails
    const r4 = await loadProject(svc("      debug: { condition: service_healthy, required: false, restart: true }", extra), { profiles: ["debug"] });
    expect(r4.messages).toEqual([]);
    expect(container(r4.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-debug", condition: "healthy", restart: true, required: false }]);
  });
  it("an undefined service is an error at its item", async () => {
    const r = await loadProject(svc("      - nope"));
    expect(r.messages).toEqual(["compose.yaml:5:9: error: services.app.depends_on[0]: service app depends on undefined service nope"]);
  });
  it("a cycle is found by berth's set check, at the Compose file", async () => {
    const dir = projectDir({ "compose.yaml": "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n" });
    const r = await loadProject(dir);
    expect(r.messages).toEqual(["compose.yaml:4:18: error: container/shop-a: spec.dependsOn[0]: dependency cycle: shop-a → shop-b → shop-a"]);
  });
});

describe("healthcheck", () => {
  it.each([
    ["test: curl -f http://localhost/", { probe: { type: "shell", command: "curl -f http://localhost/" } }],
    ['test: ["CMD", "curl", "-f", "http://localhost/"]', { probe: { type: "exec", argv: ["curl", "-f", "http://localhost/"] } }],
    ['test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]', { probe: { type: "shell", command: "curl -f http://localhost/ || exit 1" } }],
    ["test: [CMD, \"true\"]\n      interval: 1m30s\n      timeout: 500ms\n      retries: 2\n      start_period: 1s\n      start_interval: 2s", { probe: { type: "exec", argv: ["true"] }, intervalMs: 90_000, timeoutMs: 500, retries: 2, startPeriodMs: 1000, startIntervalMs: 2000 }],
  ])("%s", async (h, expected) => {
    const r = await loadProject(one(`    healthcheck:\n      ${h}\n`));
    expect(r.messages).toEqual([]);
    expect(container(r.objects, "shop-app").spec.healthcheck).toMatchObject(expected);
  });
  it.each([['test: ["NONE"]'], ["disable: true"]])("%s turns it off", async (h) => {
    const r = await loadProject(one(`    healthcheck:\n      ${h}\n`));
    expect(container(r.objects, "shop-app").spec.healthcheckDisabled).toBe(true);
    expect(container(r.objects, "shop-app").spec.healthcheck).toBeUndefined();
  });
  it("timing without a test is reported", async () => {
    const r = await loadProject(one("    healthcheck:\n      interval: 5s\n"));
    expect(r.messages).toEqual(["compose.yaml:4:5: error: services.app.healthcheck: a healthcheck without test is not supported by berth: berth cannot change only the timing of the image's HEALTHCHECK; give test:"]);
  });
});

describe("extends", () => {
  it("in the same file and from another file, with Compose's merge rules", async () => {
    const dir = projectDir({
      "compose.yaml": `services:
  base:
    image: busybox
    environment: { A: "1", B: "1" }
    ports: ["80"]
    command: sleep 1
  app:
    extends: base
    environment: [B=2, C=3]
    ports: ["9000:90"]
    command: sleep 2
  other:
    extends:
      file: common/base.yaml
      service: worker
    labels: !reset {}
`,
      "common/base.yaml": "services:\n  worker:\n    image: busybox:1.36\n    volumes: [./data:/data]\n    labels: { tier: back }\n    restart: always\n",
    });
    const r = await loadProject(dir);
    expect(r.messages).toEqual([]);
    const app = container(r.objects, "shop-app");
    expect(app.spec.env).toEqual([{ name: "A", value: "1" }, { name: "B", value: "2" }, { name: "C", value: "3" }]);
    expect(app.spec.ports).toEqual([{ containerPort: 80, protocol: "tcp" }, { containerPort: 90, hostPort: 9000, protocol: "tcp" }]);
    expect(app.spec.args).toEqual(["sleep", "2"]);
    const other = container(r.objects, "shop-other");
    expect(other.spec.image).toBe("docker.io/library/busybox:1.36");
    // the base file's relative path is relative to the base file
    expect(other.spec.mounts).toEqual([{ type: "bind", source: path.join(dir, "common/data"), target: "/data", readOnly: false }]);
    expect(other.spec.restartPolicy.name).toBe("always");
    expect(other.metadata.labels).toEqual({});
  });

  it("errors in an extended file are located in that file", async () => {
    const dir = projectDir({
      "compose.yaml": "services:\n  app:\n    extends: { file: base.yaml, service: worker }\n",
      "base.yaml": "services:\n  worker:\n    image: busybox\n    ports: [\"99999:80\"]\n",
    });
    const r = await loadProject(dir);
    expect(r.messages).toEqual(["base.yaml:4:13: error: services.app.ports[0]: port 99999 is out of range: expected 1 to 65535"]);
  });

  it("an unknown base service and a cycle are errors", async () => {
    const r = await loadProject(projectDir({ "compose.yaml": "services:\n  a:\n    extends: nope\n    image: busybox\n  b:\n    extends: c\n  c:\n    extends: b\n    image: busybox\n" }));
    expect(r.messages.filter((m) => m.includes("error"))).toEqual([
      'compose.yaml:3:14: error: services.a.extends: cannot extend service "nope": it is not defined in compose.yaml',
      "compose.yaml:6:14: error: services.b.extends: circular extends: b → c → b",
    ]);
  });
});

describe("include", () => {
  it("adds the included project's resources, its paths relative to it and its own .env", async () => {
    const dir = projectDir({
      "compose.yaml": "include:\n  - db/compose.yaml\nservices:\n  app:\n    image: busybox\n    depends_on: [db]\n",
      "db/compose.yaml": "services:\n  db:\n    image: busybox:${DB_TAG}\n    volumes: [./init:/init, data:/var/lib/db]\nvolumes:\n  data: {}\n",
      "db/.env": "DB_TAG=1.36\n",
    });
    const r = await loadProject(dir);
    expect(r.messages).toEqual([]);
    const db = container(r.objects, "shop-db");
    expect(db.spec.image).toBe("docker.io/library/busybox:1.36");
    expect(db.spec.mounts).toEqual([
      { type: "bind", source: path.join(dir, "db/init"), target: "/init", readOnly: false },
      { type: "volume", source: "shop-data", target: "/var/lib/db", readOnly: false },
    ]);
    expect(container(r.objects, "shop-app").spec.dependsOn).toEqual([{ name: "shop-db", condition: "started" }]);
  });

  it("a service defined by both files is an error naming the other place", async () => {
    const dir = projectDir({
      "compose.yaml": "include: [other.yaml]\nservices:\n  app:\n    image: busybox\n",
      "other.yaml": "services:\n  app:\n    image: busybox:1.36\n",
    });
    const r = await loadProject(dir);
    expect(r.messages).toEqual(["compose.yaml:3:3: error: services.app: services.app is also defined by the included file other.yaml (other.yaml:2:3); rename one of them, or use extends"]);
  });
});

describe("profiles", () => {
  const dir = () => projectDir({ "compose.yaml": "services:\n  app:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug, tools]\n" });
  it("a service with profiles is off unless one of them is enabled", async () => {
    expect((await loadProject(dir())).objects.map((o) => o.metadata.name)).toEqual(["shop-app", "shop-default"]);
    expect((await loadProject(dir(), { profiles: ["tools"] })).objects.map((o) => o.metadata.name)).toEqual(["shop-app", "shop-debug", "shop-default"]);
    expect((await loadProject(dir(), { env: { COMPOSE_PROFILES: "x,debug" } })).objects.map((o) => o.metadata.name)).toContain("shop-debug");
    expect((await loadProject(dir(), { profiles: ["*"] })).objects.map((o) => o.metadata.name)).toContain("shop-debug");
  });
});

describe("project name and the default network", () => {
  const file = "services:\n  web:\n    image: busybox\n";
  it.each([
    [{}, {}, "shop"],
    [{ projectName: "store" }, {}, "store"],
    [{ env: { COMPOSE_PROJECT_NAME: "fromenv" } }, {}, "fromenv"],
    [{}, { name: "named" }, "named"],
    [{}, { dir: "My Shop_2" }, "myshop-2"],
    [{ projectName: "my_app" }, {}, "my-app"],
  ])("%j %j → %s", async (compose, o, stack) => {
    const d = projectDir({ "compose.yaml": (o as { name?: string }).name ? `name: ${(o as { name: string }).name}\n${file}` : file }, (o as { dir?: string }).dir ?? "shop");
    const r = await loadProject(d, compose);
    expect(r.messages).toEqual([]);
    expect(r.composeStack).toBe(stack);
    expect(r.objects.map((x) => `${x.kind}/${x.metadata.name}`)).toEqual([`Container/${stack}-web`, `Network/${stack}-default`]);
    expect(container(r.objects, `${stack}-web`).spec.networks).toEqual([{ name: `${stack}-default`, aliases: ["web"] }]);
  });
  it("an invalid name: is an error at it; container_name overrides", async () => {
    const r = await loadProject(projectDir({ "compose.yaml": `name: Bad.Name\n${file}` }));
    expect(r.messages).toEqual(['compose.yaml:1:7: error: name: invalid project name "Bad.Name": it must contain only lowercase letters, digits, \'-\' and \'_\', and start with a letter or digit; did you mean "badname"?']);
    const r2 = await loadProject(projectDir({ "compose.yaml": `${file}    container_name: frontdoor\n` }));
    expect(container(r2.objects, "frontdoor").spec.networks).toEqual([{ name: "shop-default", aliases: ["web"] }]);
  });
});

describe("init, extra_hosts, dns and ipv4_address", () => {
  const file = (addr: string, hosts = `["host.docker.internal:host-gateway", "db.example=10.9.0.2"]`) => `services:
  app:
    image: busybox
    init: true
    extra_hosts: ${hosts}
    dns: 10.9.0.53
    dns_search: [corp.example]
    dns_opt: ["ndots:2"]
    networks:
      front:
        ipv4_address: ${addr}
networks:
  front:
    ipam:
      config: [{ subnet: 10.5.0.0/24 }]
`;

  it("convert to init, extraHosts, dns, dnsSearch, dnsOptions and the network's ipv4Address", async () => {
    const r = await loadProject(projectDir({ "compose.yaml": file("10.5.0.5") }));
    expect(r.messages).toEqual([]);
    const s = container(r.objects, "shop-app").spec;
    expect(s).toMatchObject({
      init: true,
      extraHosts: [{ name: "host.docker.internal", address: "host-gateway" }, { name: "db.example", address: "10.9.0.2" }],
      dns: ["10.9.0.53"],
      dnsSearch: ["corp.example"],
      dnsOptions: ["ndots:2"],
      networks: [{ name: "shop-front", aliases: ["app"], ipv4Address: "10.5.0.5" }],
    });
    const map = await loadProject(projectDir({ "compose.yaml": file("10.5.0.6", `{ db.example: 10.9.0.2, v6: "::1" }`) }));
    expect(container(map.objects, "shop-app").spec.extraHosts).toEqual([{ name: "db.example", address: "10.9.0.2" }, { name: "v6", address: "::1" }]);
  });

  it("tty and stdin_open: the process on a terminal with stdin kept open (berth attach); false or absent sets nothing", async () => {
    const text = `name: shop\nservices:\n  shell:\n    image: busybox\n    tty: true\n    stdin_open: true\n  plain:\n    image: busybox\n    tty: false\n`;
    const r = await loadProject(projectDir({ "compose.yaml": text }));
    expect(r.messages).toEqual([]);
    expect(container(r.objects, "shop-shell").spec).toMatchObject({ tty: true, stdin: true });
    expect(container(r.objects, "shop-plain").spec).not.toHaveProperty("tty");
    expect(container(r.objects, "shop-plain").spec).not.toHaveProperty("stdin");
  });

  it("an ipv4_address outside the declared subnet, or its gateway, is an error at its key", async () => {
    expect((await loadProject(projectDir({ "compose.yaml": file("10.6.0.5") }))).messages).toEqual([
      "compose.yaml:11:23: error: services.app.networks.front.ipv4_address: ipv4_address 10.6.0.5 is outside network front's subnet 10.5.0.0/24",
    ]);
    expect((await loadProject(projectDir({ "compose.yaml": file("10.5.0.1") }))).messages).toEqual([
      "compose.yaml:11:23: error: services.app.networks.front.ipv4_address: ipv4_address 10.5.0.1 is network front's gateway",
    ]);
  });
});

describe("what berth does not support, located", () => {
  it("errors and warnings at their keys", async () => {
    const dir = projectDir({
      "compose.yaml": `version: "3.8"
services:
  app:
    image: busybox
    devices: ["/dev/kvm"]
    logging: { driver: json-file }
    x-note: ignored
    networks:
      front:
        ipv6_address: fd00::5
networks:
  front:
    ipam:
      config: [{ subnet: 10.5.0.0/24 }]
x-anything: { ignored: true }
`,
    });
    const r = await loadProject(dir);
    expect(r.messages).toEqual([
      "compose.yaml:1:1: warning: version: version is obsolete in the Compose Specification; ignored",
      "compose.yaml:5:5: error: services.app.devices: devices is not supported by berth",
      "compose.yaml:6:5: warning: services.app.logging: logging is not supported by berth: berth keeps each container's logs itself; ignored",
      "compose.yaml:10:9: error: services.app.networks.front.ipv6_address: networks.front.ipv6_address is not supported by berth: berth allocates each container's address itself",
    ]);
    expect(r.objects).toEqual([]);
  });

  it("a schema error of the Compose Specification is located at its key", async () => {
    const r = await loadProject(one("    helthcheck:\n      test: true\n"));
    expect(r.messages[0]).toMatch(/^compose\.yaml:4:5: error: services\.app\.helthcheck: unknown field "helthcheck"/);
  });

  it("a service name that is not a DNS label is refused with a suggestion", async () => {
    const r = await loadProject(projectDir({ "compose.yaml": "services:\n  db_primary:\n    image: busybox\n" }));
    expect(r.messages[0]).toBe(`compose.yaml:2:3: error: services.db_primary: service name "db_primary" cannot be a berth name: berth's names and the aliases its resolver answers are DNS labels (lowercase letters, digits and '-'); rename the service to "db-primary"`);
  });
});

describe("host-level access", () => {
  it("privileged, host network, pid and docker.sock are listed; the host-bind policy still applies", async () => {
    const file = `services:
  agent:
    image: busybox
    privileged: true
    network_mode: host
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
`;
    const r = await loadProject(projectDir({ "compose.yaml": file }), {}, { allowPrivileged: true });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatch(/^compose\.yaml:6:15: error: container\/shop-agent: spec\.mounts\[0\]\.source: bind source \/var\/run\/docker\.sock exposes the Docker socket/);
    const ok = await loadProject(projectDir({ "compose.yaml": file }), {}, { allowPrivileged: true, allowHostBinds: true });
    expect(ok.messages).toEqual([]);
    expect(ok.hostGrants?.map((g) => g.what.split(" (")[0]!.split(":")[0])).toEqual(["bind of /var/run/docker.sock", "network_mode", "privileged"]);
    const refused = await loadProject(projectDir({ "compose.yaml": "services:\n  a:\n    image: busybox\n    privileged: true\n" }));
    expect(refused.messages[0]).toMatch(/^compose\.yaml:4:17: error: container\/shop-a: spec\.privileged: privileged containers are refused/);
  });
});

describe("YAML", () => {
  it("anchors, merge keys and x- extensions", async () => {
    const dir = projectDir({ "compose.yaml": "x-base: &base\n  image: busybox\n  environment: &env\n    A: '1'\nservices:\n  one:\n    <<: *base\n  two:\n    <<: *base\n    environment:\n      <<: *env\n      B: '2'\n" });
    const r = await loadProject(dir);
    expect(r.messages).toEqual([]);
    expect(container(r.objects, "shop-two").spec.env).toEqual([{ name: "A", value: "1" }, { name: "B", value: "2" }]);
    expect(container(r.objects, "shop-one").spec.env).toEqual([{ name: "A", value: "1" }]);
  });
  it("an alias bomb is refused", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) bomb.push(`${"abcdefghij"[i]}: &${"abcdefghij"[i]} [${Array(10).fill(`*${"abcdefghij"[i - 1]}`).join(", ")}]`);
    const r = await loadProject(projectDir({ "compose.yaml": `x-bomb:\n${bomb.map((l) => `  ${l}`).join("\n")}\nservices:\n  app:\n    image: busybox\n` }));
    expect(r.messages.join("\n")).toMatch(/alias bomb/);
  });
});

describe("override files (-f a -f b, compose.override.yaml)", () => {
  const BASE = `services:
  web:
    image: localhost/web:1
    command: httpd -f
    environment: {A: "1", KEEP: "yes"}
    ports: ["8000:80"]
    volumes: [data:/data]
    labels: [team=shop]
  db:
    image: localhost/db:1
volumes:
  data: {}
`;
  const OVERRIDE = `services:
  web:
    image: localhost/web:2
    command: [httpd, -f, -v]
    environment: [B=2, A=override]
    ports: ["8443:443"]
    volumes: ["./site:/data"]
    labels: !reset []
  debug:
    image: localhost/debug:1
`;
  const env = (c: ContainerObject) => Object.fromEntries((c.spec.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));

  it("a directory's compose.override.yaml merges over its compose.yaml by Compose's rules", async () => {
    const dir = projectDir({ "compose.yaml": BASE, "compose.override.yaml": OVERRIDE, "site/index.html": "hi" });
    const r = await loadManifests([dir], { compose: { env: {} } });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const web = container(r.objects, "shop-web");
    expect(web.spec.image).toBe("localhost/web:2");
    // command replaced whole; environment merged (the override's value wins); ports appended
    expect(web.spec.args).toEqual(["httpd", "-f", "-v"]);
    expect(env(web)).toEqual({ A: "override", KEEP: "yes", B: "2" });
    expect(web.spec.ports.map((p) => `${p.hostPort}:${p.containerPort}`)).toEqual(["8000:80", "8443:443"]);
    // volumes merged by target: the bind of ./site (resolved against the project dir) replaces the volume
    expect(web.spec.mounts).toEqual([expect.objectContaining({ type: "bind", source: path.join(dir, "site"), target: "/data" })]);
    // !reset drops the base's labels
    expect(web.metadata.labels?.team).toBeUndefined();
    expect(container(r.objects, "shop-db").spec.image).toBe("localhost/db:1");
    expect(container(r.objects, "shop-debug").spec.image).toBe("localhost/debug:1");
  });

  it("-f a.yaml -f b.yaml: the later file merges over the first, wherever it is; an error in it is placed in it", async () => {
    const dir = projectDir({ "compose.yaml": BASE, "prod/compose.prod.yaml": "services:\n  web:\n    environment: {A: prod}\n" });
    const r = await loadManifests([path.join(dir, "compose.yaml"), path.join(dir, "prod/compose.prod.yaml")], { compose: { env: {} } });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(env(container(r.objects, "shop-web")).A).toBe("prod");

    const bad = projectDir({ "compose.yaml": BASE, "compose.bad.yaml": "services:\n  web:\n    ports: [\"not-a-port\"]\n" });
    const e = await loadManifests([path.join(bad, "compose.yaml"), path.join(bad, "compose.bad.yaml")], { compose: { env: {} } });
    const errors = e.diagnostics.filter((d) => d.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: expect.stringMatching(/compose\.bad\.yaml$/), line: 3 });
    expect(e.objects).toEqual([]);
  });

  it("with -f compose.yaml alone, a compose.override.yaml beside it is not read (Compose reads it only when it finds the files itself)", async () => {
    const dir = projectDir({ "compose.yaml": BASE, "compose.override.yaml": OVERRIDE });
    const r = await loadProject(dir);
    expect(container(r.objects, "shop-web").spec.image).toBe("localhost/web:1");
  });

  it("a watched source's texts (no bundle): the override is merged from the snapshot given, not read again", async () => {
    const dir = projectDir({ "compose.yaml": BASE });
    const r = loadManifestTexts(
      [
        { file: path.join(dir, "compose.override.yaml"), text: "services:\n  web:\n    image: localhost/web:snapshot\n", baseDir: dir },
        { file: path.join(dir, "compose.yaml"), text: BASE, baseDir: dir },
      ],
      { compose: { env: {} } },
    );
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(container(r.objects, "shop-web").spec.image).toBe("localhost/web:snapshot");
  });
});

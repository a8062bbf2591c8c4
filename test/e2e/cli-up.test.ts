import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { berth, BERTH } from "../helpers/cli.js";
import { daemonEnv, until } from "../helpers/daemon.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root", "runc", "conmon", "overlay", "busybox");

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

describe.skipIf(lacking)("berth up", () => {
  const env = daemonEnv();
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGINT");
      await new Promise((r) => c.once("exit", r));
    }
    await env.cleanup();
  });

  it("runs a stack in the foreground with progress and logs, and Ctrl-C stops it", async () => {
    const dir = path.join(env.base, "site-stack");
    mkdirSync(path.join(dir, "www"), { recursive: true });
    writeFileSync(path.join(dir, "www", "index.html"), "served by berth up\n");
    writeFileSync(
      path.join(dir, "stack.yaml"),
      env.imageManifest +
        `---\napiVersion: berth/v1\nkind: Container\nmetadata: {name: upweb}\nspec:\n  image: localhost/busybox:latest\n  command: [sh, -c, 'echo starting; exec httpd -f -v -p 127.0.0.1:8087 -h /www']\n  networkMode: host\n  mounts: ['./www:/www:ro']\n  restartPolicy: always\n  stopGracePeriod: 1s\n  healthcheck: {http: {port: 8087}, interval: 500ms}\n`,
    );
    const child = spawn(process.execPath, [BERTH, "--root", env.root, "--run-root", env.runRoot, "up", "-f", dir], { env: { ...process.env, NO_COLOR: "1", BERTH_CGROUP_PARENT: env.cgroupParent }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));

    await until("the stack is up", async () => (out.includes("stack site-stack is up") ? true : undefined), 60_000);
    expect(out).toContain("image/busybox created\ncontainer/upweb created\n");
    expect(out).toMatch(/container\/upweb: Running \(healthy\)/);
    expect((await get("http://127.0.0.1:8087/")).body).toBe("served by berth up\n");
    await until("logs streamed", async () => (out.includes("upweb | starting") ? true : undefined), 10_000);

    // other commands reach the daemon that up runs
    const got = await berth(["--run-root", env.runRoot, "get", "ctr", "upweb", "-o", "json"]);
    expect(JSON.parse(got.stdout).status).toMatchObject({ phase: "Running", health: "healthy" });

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("stopping stack site-stack...\ncontainer/upweb stopped\n");
    await expect(get("http://127.0.0.1:8087/")).rejects.toThrow();
    expect(existsSync(`/sys/fs/cgroup/memory/${env.cgroupParent}/berth`), "nothing under the default parent").toBe(false);
  });

  it("exits 1 with located errors for invalid manifests, and starts nothing", async () => {
    const file = path.join(env.base, "bad.yaml");
    writeFileSync(file, "apiVersion: berth/v1\nkind: Container\nmetadata: {name: bad}\nspec:\n  imagee: busybox\n");
    const r = await berth(["--root", env.root, "--run-root", env.runRoot, "up", "-f", file], { timeoutMs: 60_000, env: { BERTH_CGROUP_PARENT: env.cgroupParent } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:5:3: error: container/bad: spec.imagee: unknown field "imagee"; did you mean "image"?`);
  });
});

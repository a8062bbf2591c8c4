import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containerView, startHarness, type Harness } from "../testing.js";
import { runPort } from "./port.js";

describe("berth port", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.put(
      containerView("web", {
        ports: [
          { protocol: "tcp", hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80 },
          { protocol: "udp", hostIP: "0.0.0.0", hostPort: 32768, containerPort: 53 },
          { protocol: "tcp", hostIP: "::1", hostPort: 8443, containerPort: 443 },
        ],
      }),
    );
  });
  afterEach(() => h.close());

  it("lists every published port as docker port does", async () => {
    expect(await runPort(h.ctx, "web", undefined)).toBe(0);
    expect(h.stdout.text).toBe("80/tcp -> 127.0.0.1:8080\n53/udp -> 0.0.0.0:32768\n443/tcp -> [::1]:8443\n");
  });

  it("prints the host address of one container port, tcp unless said", async () => {
    expect(await runPort(h.ctx, "web", "80")).toBe(0);
    expect(await runPort(h.ctx, "web", "53/udp")).toBe(0);
    expect(h.stdout.text).toBe("127.0.0.1:8080\n0.0.0.0:32768\n");
  });

  it("a port that is not published: exit 1 with Docker's message; a bad port is a usage error", async () => {
    expect(await runPort(h.ctx, "web", "53")).toBe(1);
    expect(h.stderr.text).toBe("berth: no public port '53/tcp' published for web\n");
    await expect(runPort(h.ctx, "web", "http")).rejects.toThrow(/invalid port "http"/);
  });
});

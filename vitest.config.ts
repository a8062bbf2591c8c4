import { defineConfig } from "vitest/config";

// Three projects: unit tests sit beside the code; integration and e2e tests live under
// test/ and run against the real host (runc, conmon, overlayfs, the built CLI).
export default defineConfig({
  test: {
    // `npm run coverage`: unit coverage of the controller's loop, stores and reconcilers, which
    // must stay at 85% of lines or more (the rest of controller/ is reported alongside).
    coverage: {
      provider: "v8",
      include: ["controller/**/*.ts"],
      exclude: ["**/*.test.ts", "**/testing.ts", "controller/manifests/**"],
      reporter: ["text-summary", "text"],
      thresholds: {
        "controller/{loop,store,reconcilers}/**/*.ts": { lines: 85 },
      },
    },
    projects: [
      {
        test: {
          name: "unit",
          include: ["{lib,schemas,controller,runtime,cli}/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          // Its daemons' iptables chains apart from the e2e project's, which may run alongside.
          // No test's DNS query is forwarded off the host (tests that forward start their own upstream).
          env: { BERTH_FIREWALL_PREFIX: "BTI", BERTH_DNS_UPSTREAMS: "none" },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Real containers, mounts and cgroups: one file at a time keeps the host sane.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          env: { BERTH_FIREWALL_PREFIX: "BTE", BERTH_DNS_UPSTREAMS: "none" },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});

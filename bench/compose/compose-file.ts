/**
 * The 10-service Compose file both sides bring up, written as users write it (anchors for
 * the shared parts, `${VAR}` interpolation for the image and the subnets, two networks, a
 * named volume): proxy → web → api → db + cache + queue; worker, scheduler, metrics, mailer.
 * Every service is busybox and stays up; its pid 1 exits on SIGTERM (a shell trap: a
 * program as pid 1 ignores it and would wait out the grace period on teardown).
 *
 * `gated`: healthchecks only on db and api, and only where a dependent waits for them
 * (`condition: service_healthy`), so Compose 1.29's `up -d` (which waits for a dependency's
 * health before starting its dependents, but never for a leaf's) and berth's
 * `apply --wait` (which waits for every healthcheck) wait for exactly the same things: all
 * ten running, db and api healthy. Ungated: the same file without healthchecks, every
 * condition `service_started` — the engines' own cost, no probe interval in it.
 */

const keep = (cmd: string) => JSON.stringify(["sh", "-c", `trap 'exit 0' TERM; ${cmd} & wait`]);
const httpd = (port: number, dir = "/www") => keep(`mkdir -p ${dir} && echo ok > ${dir}/index.html && httpd -f -p ${port} -h ${dir}`);

export const SERVICES = ["proxy", "web", "api", "db", "cache", "queue", "worker", "scheduler", "metrics", "mailer"];
/** The healthchecks' interval (1s in the file): the first probe runs one interval after the start. */
export const HEALTH_INTERVAL_MS = 1000;
/** What gated waits for beyond "running". */
export const HEALTHCHECKED = ["db", "api"];

export function composeYaml(gated: boolean): string {
  const healthy = gated ? "service_healthy" : "service_started";
  const hc = (test: string) => (gated ? [`    healthcheck:`, `      test: ${test}`, `      <<: *health`] : []);
  return [
    "# A shop of ten services on two networks (bench/compose). Interpolated: IMAGE, FRONT_SUBNET, BACK_SUBNET.",
    "x-service: &service",
    "  image: ${IMAGE}",
    "  restart: unless-stopped",
    "  stop_grace_period: 3s",
    "  labels:",
    "    com.example.team: shop",
    "",
    "x-health: &health",
    "  interval: 1s",
    "  timeout: 1s",
    "  retries: 5",
    "",
    "services:",
    "  proxy:",
    "    <<: *service",
    `    command: ${httpd(8080)}`,
    "    networks: [front]",
    "    depends_on:",
    "      web:",
    "        condition: service_started",
    "",
    "  web:",
    "    <<: *service",
    `    command: ${httpd(80)}`,
    "    environment:",
    "      API_URL: http://api:3000",
    "      NODE_ENV: production",
    "    networks: [front, back]",
    "    depends_on:",
    "      api:",
    `        condition: ${healthy}`,
    "",
    "  api:",
    "    <<: *service",
    `    command: ${httpd(3000, "/srv")}`,
    "    environment:",
    "      DB_HOST: db",
    "      CACHE_HOST: cache",
    "      QUEUE_HOST: queue",
    "    networks: [back]",
    "    depends_on:",
    "      db:",
    `        condition: ${healthy}`,
    "      cache:",
    "        condition: service_started",
    "      queue:",
    "        condition: service_started",
    ...hc(`["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/"]`),
    "",
    "  db:",
    "    <<: *service",
    `    command: ${keep("date >> /data/started && touch /data/ready && sleep 2147483647")}`,
    "    volumes:",
    "      - db-data:/data",
    "    networks: [back]",
    ...hc(`["CMD-SHELL", "test -f /data/ready"]`),
    "",
    "  cache:",
    "    <<: *service",
    `    command: ${httpd(6379, "/cache")}`,
    "    networks: [back]",
    "",
    "  queue:",
    "    <<: *service",
    `    command: ${httpd(5672, "/queue")}`,
    "    networks: [back]",
    "",
    "  worker:",
    "    <<: *service",
    `    command: ${keep("sleep 2147483647")}`,
    "    environment:",
    "      QUEUE_HOST: queue",
    "      CONCURRENCY: \"4\"",
    "    networks: [back]",
    "    depends_on:",
    "      queue:",
    "        condition: service_started",
    "      db:",
    `        condition: ${healthy}`,
    "",
    "  scheduler:",
    "    <<: *service",
    `    command: ${keep("sleep 2147483647")}`,
    "    networks: [back]",
    "    depends_on:",
    "      queue:",
    "        condition: service_started",
    "",
    "  metrics:",
    "    <<: *service",
    `    command: ${httpd(9090)}`,
    "    networks: [front, back]",
    "",
    "  mailer:",
    "    <<: *service",
    `    command: ${keep("sleep 2147483647")}`,
    "    environment:",
    "      SMTP_RELAY: relay.invalid",
    "    networks: [back]",
    "",
    "networks:",
    "  front:",
    "    ipam:",
    "      config:",
    "        - subnet: ${FRONT_SUBNET}",
    "  back:",
    "    ipam:",
    "      config:",
    "        - subnet: ${BACK_SUBNET}",
    "",
    "volumes:",
    "  db-data:",
    "",
  ].join("\n");
}

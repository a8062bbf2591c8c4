import type { ContainerStatusView } from "../../controller/api/protocol.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";

/**
 * `berth port NAME [PORT[/PROTO]]`, as `docker port`: every published port of a container as
 * `80/tcp -> 127.0.0.1:8080`, or the host addresses of one container port (`127.0.0.1:8080`).
 * A container port that is not published: exit 1 with Docker's message.
 */
export async function runPort(ctx: CommandContext, name: string, filter: string | undefined): Promise<number> {
  let want: { port: number; protocol: string } | undefined;
  if (filter !== undefined) {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp))?$/.exec(filter);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new UsageError(`invalid port ${JSON.stringify(filter)}: expected a container port such as 80 or 53/udp`);
    want = { port: Number(m[1]), protocol: m[2] ?? "tcp" };
  }
  const view = await ctx.client.get("Container", name);
  const ports = (view.status as ContainerStatusView).ports ?? [];
  if (!want) {
    for (const p of ports) ctx.stdout.write(`${p.containerPort}/${p.protocol} -> ${hostAddress(p.hostIP, p.hostPort)}\n`);
    return 0;
  }
  const hits = ports.filter((p) => p.containerPort === want.port && p.protocol === want.protocol);
  if (hits.length === 0) {
    ctx.stderr.write(`berth: no public port '${want.port}/${want.protocol}' published for ${name}\n`);
    return 1;
  }
  for (const p of hits) ctx.stdout.write(`${hostAddress(p.hostIP, p.hostPort)}\n`);
  return 0;
}

/** `127.0.0.1:8080`, `[::1]:8080`. */
export function hostAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

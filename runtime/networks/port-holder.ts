/**
 * Host port reservations of published ports. berth forwards published ports with DNAT (the
 * client's address reaches the container; no proxy), so nothing on the host listens on
 * them — and nothing would stop another program from taking the port, or a second mapping
 * from taking it twice. The driver therefore holds each published host port with a socket
 * of its own (as docker-proxy does): bound, so the kernel refuses the port to anyone else
 * (EADDRINUSE), and a port of 0 gets a free one from the kernel. Traffic never reaches the
 * holder: DNAT rewrites it first; a connection that does arrive is closed at once.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { conflict } from "../../lib/errors.js";

export interface HeldPort {
  protocol: "tcp" | "udp";
  hostIP: string;
  port: number;
  release(): Promise<void>;
}

export async function holdPort(protocol: "tcp" | "udp", hostIP: string, port: number): Promise<HeldPort> {
  const what = `${hostIP === "0.0.0.0" ? "" : `${hostIP}:`}${port || "a free port"}/${protocol}`;
  const failed = (err: NodeJS.ErrnoException) =>
    err.code === "EADDRINUSE"
      ? conflict(`publish ${what}: the port is already in use on the host`)
      : err.code === "EADDRNOTAVAIL"
        ? conflict(`publish ${what}: ${hostIP} is not an address of this host`)
        : conflict(`publish ${what}: ${err.message}`);
  if (protocol === "tcp") {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(failed(err)));
      server.listen({ host: hostIP, port, exclusive: true, backlog: 1 }, () => resolve());
    });
    server.on("error", () => {});
    server.unref();
    return {
      protocol,
      hostIP,
      port: (server.address() as net.AddressInfo).port,
      release: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (err) => reject(failed(err)));
    socket.bind({ address: hostIP, port, exclusive: true }, () => resolve());
  });
  socket.on("error", () => {});
  socket.on("message", () => {});
  socket.unref();
  return {
    protocol,
    hostIP,
    port: socket.address().port,
    release: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * A port published on an IPv6 host address (`[::1]:8080:80`): berth's networks are IPv4, so
 * no DNAT rule can carry it; a proxy in the daemon does, as docker-proxy does for IPv6. TCP
 * connections are piped to the container's address; UDP datagrams are relayed per client
 * (one upstream socket each, closed after `udpIdleMs` of silence, at most `maxUdpFlows`).
 * The listener holds the port like `holdPort`. `retarget` points it at a new address.
 */
export async function proxyPort(
  protocol: "tcp" | "udp",
  hostIP: string,
  port: number,
  target: { address: string; port: number },
  o: { udpIdleMs?: number; maxUdpFlows?: number } = {},
): Promise<HeldPort> {
  const what = `[${hostIP}]:${port || "a free port"}/${protocol}`;
  const failed = (err: NodeJS.ErrnoException) =>
    conflict(err.code === "EADDRINUSE" ? `publish ${what}: the port is already in use on the host` : err.code === "EADDRNOTAVAIL" ? `publish ${what}: ${hostIP} is not an address of this host` : `publish ${what}: ${err.message}`);
  if (protocol === "tcp") {
    const open = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: target.address, port: target.port });
      open.add(client).add(upstream);
      const end = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(failed(err)));
      server.listen({ host: hostIP, port, exclusive: true, ipv6Only: true }, () => resolve());
    });
    server.on("error", () => {});
    server.unref();
    return {
      protocol,
      hostIP,
      port: (server.address() as net.AddressInfo).port,
      release: () =>
        new Promise<void>((resolve) => {
          for (const s of open) s.destroy();
          server.close(() => resolve());
        }),
    };
  }
  const idleMs = o.udpIdleMs ?? 60_000;
  const maxFlows = o.maxUdpFlows ?? 256;
  const socket = dgram.createSocket({ type: "udp6", ipv6Only: true });
  const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    f.up.close();
    flows.delete(key);
  };
  socket.on("message", (msg, from) => {
    const key = `${from.address}|${from.port}`;
    let f = flows.get(key);
    if (!f) {
      if (flows.size >= maxFlows) return; // bounded: a flood of clients is dropped, not served
      const up = dgram.createSocket("udp4");
      up.on("error", () => drop(key));
      up.on("message", (reply) => {
        socket.send(reply, from.port, from.address);
        const g = flows.get(key);
        if (g) g.timer.refresh();
      });
      f = { up, timer: setTimeout(() => drop(key), idleMs).unref() };
      flows.set(key, f);
    }
    f.timer.refresh();
    f.up.send(msg, target.port, target.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (err) => reject(failed(err)));
    socket.bind({ address: hostIP, port, exclusive: true }, () => resolve());
  });
  socket.on("error", () => {});
  socket.unref();
  return {
    protocol,
    hostIP,
    port: socket.address().port,
    release: () =>
      new Promise<void>((resolve) => {
        for (const k of [...flows.keys()]) drop(k);
        socket.close(() => resolve());
      }),
  };
}

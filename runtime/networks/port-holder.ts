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
  if (protocol === "tcp") {
    const server = net.createServer((s) => s.destroy());
    return heldServer(server, { host: hostIP, port, exclusive: true, backlog: 1 }, protocol, () => {});
  }
  const socket = dgram.createSocket({ type: "udp4" });
  socket.on("message", () => {});
  return heldSocket(socket, hostIP, port, () => {});
}

/**
 * What holds a published port: for an IPv4 host address a bound socket (DNAT carries the
 * traffic), for an IPv6 one a proxy to `target`.
 */
export function holdPublished(protocol: "tcp" | "udp", hostIP: string, port: number, target: { address: string; port: number }): Promise<HeldPort> {
  return hostIP.includes(":") ? proxyPort(protocol, hostIP, port, target) : holdPort(protocol, hostIP, port);
}

/**
 * A port published on an IPv6 host address (`[::1]:8080:80`): berth's networks are IPv4, so
 * no DNAT rule can carry it; a proxy in the daemon does, as docker-proxy does for IPv6. TCP
 * connections are piped to the container's address; UDP datagrams are relayed per client
 * (one upstream socket each, closed after `udpIdleMs` of silence, at most `maxUdpFlows`).
 * The listener holds the port like `holdPort`. A new target means a new proxy (the driver
 * releases the old one first).
 */
export async function proxyPort(
  protocol: "tcp" | "udp",
  hostIP: string,
  port: number,
  target: { address: string; port: number },
  o: { udpIdleMs?: number; maxUdpFlows?: number } = {},
): Promise<HeldPort> {
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
    return heldServer(server, { host: hostIP, port, exclusive: true, ipv6Only: true }, protocol, () => {
      for (const s of open) s.destroy();
    });
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
  return heldSocket(socket, hostIP, port, () => {
    for (const k of [...flows.keys()]) drop(k);
  });
}

/** Conflict naming the port: taken, not an address of this host, or the system's reason. */
function publishError(protocol: "tcp" | "udp", hostIP: string, port: number, err: NodeJS.ErrnoException) {
  const host = hostIP === "0.0.0.0" ? "" : hostIP.includes(":") ? `[${hostIP}]:` : `${hostIP}:`;
  const what = `publish ${host}${port || "a free port"}/${protocol}`;
  if (err.code === "EADDRINUSE") return conflict(`${what}: the port is already in use on the host`);
  if (err.code === "EADDRNOTAVAIL") return conflict(`${what}: ${hostIP} is not an address of this host`);
  return conflict(`${what}: ${err.message}`);
}

/** Listens (the port is then held), and the HeldPort that closes it after `onRelease`. */
async function heldServer(server: net.Server, listen: net.ListenOptions & { host: string; port: number }, protocol: "tcp", onRelease: () => void): Promise<HeldPort> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(publishError(protocol, listen.host, listen.port, err)));
    server.listen(listen, () => resolve());
  });
  server.on("error", () => {});
  server.unref();
  return {
    protocol,
    hostIP: listen.host,
    port: (server.address() as net.AddressInfo).port,
    release: () =>
      new Promise<void>((resolve) => {
        onRelease();
        server.close(() => resolve());
      }),
  };
}

/** Binds (the port is then held), and the HeldPort that closes it after `onRelease`. */
async function heldSocket(socket: dgram.Socket, hostIP: string, port: number, onRelease: () => void): Promise<HeldPort> {
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (err) => reject(publishError("udp", hostIP, port, err)));
    socket.bind({ address: hostIP, port, exclusive: true }, () => resolve());
  });
  socket.on("error", () => {});
  socket.unref();
  return {
    protocol: "udp",
    hostIP,
    port: socket.address().port,
    release: () =>
      new Promise<void>((resolve) => {
        onRelease();
        socket.close(() => resolve());
      }),
  };
}

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

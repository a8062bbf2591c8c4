import { constants as fsc, promises as fs, openSync, closeSync } from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { SeqpacketSocket } from "node-unix-socket";
import { unavailable } from "../../lib/errors.js";

/**
 * A client of conmon's attach socket and terminal control FIFO — what `podman attach` does
 * (libpod/oci_conmon_attach_common.go), in Node.
 *
 * conmon (started with `--full-attach`) listens on `<bundle>/attach`, a SOCK_SEQPACKET unix
 * socket (Node's net module speaks SOCK_STREAM only: node-unix-socket's SeqpacketSocket
 * does the rest). Every packet conmon sends is one read of the process's output: its first
 * byte names the pipe (2 stdout, 3 stderr; on a terminal everything is stdout), the rest is
 * the bytes. What a client sends is the process's stdin, as is (a terminal's master, or the
 * stdin pipe of `--stdin`); a client's half-close closes the process's stdin unless conmon
 * has `--leave-stdin-open`. Several clients may be attached; each gets all output from its
 * connect on (nothing before it: conmon keeps no backlog, the log file has it).
 *
 * Resizing: conmon reads `<bundle>/ctl`, a FIFO, for lines `1 <rows> <cols>\n` (type 1 is
 * a window resize) and applies TIOCSWINSZ to the master; the kernel then sends SIGWINCH
 * to the terminal's foreground process group.
 *
 * The socket's path may be longer than sun_path's 108 bytes (deep temp roots): it is
 * reached as /proc/self/fd/<dir fd>/attach, as conmon binds it.
 */

/** conmon's stdpipe_t (src/utils.h). */
const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;
/** conmon reads at most CONN_SOCK_BUF_SIZE (32 KiB) per packet; a longer one would be cut. */
const MAX_PACKET = 8192;
/**
 * Output a client may fall behind by before it is disconnected. The socket cannot be paused
 * (node-unix-socket has no flow control), so a client that stops reading — a suspended
 * terminal, a stalled pipe — would otherwise grow the daemon's memory with a chatty process.
 */
export const MAX_ATTACH_BEHIND_BYTES = 16 * 1024 * 1024;
/** conmon's ctl message type of a window resize (src/ctrl.c WIN_RESIZE_EVENT). */
const WIN_RESIZE_EVENT = 1;

export interface AttachConnection {
  /** The process's output (everything, on a terminal). Ends when conmon closes the socket. */
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  /** Sends bytes to the process's stdin (split into packets conmon reads whole). */
  write(chunk: Uint8Array): void;
  /** Half-closes the socket: the process's stdin is closed unless conmon leaves it open. */
  closeStdin(): void;
  /** Sets the terminal's size (no-op effect without a terminal). Never throws once connected. */
  resize(cols: number, rows: number): Promise<void>;
  /** Disconnects (detach): the process goes on. Idempotent. */
  close(): void;
  /** Resolves once the socket is closed, by either side. */
  readonly closed: Promise<void>;
  /** Set when it was closed because the reader fell MAX_ATTACH_BEHIND_BYTES behind. */
  readonly overrun: boolean;
}

/** A terminal's size as conmon's ctl FIFO takes it (rows first), or undefined when out of its range (1..1000). */
export function resizeMessage(cols: number, rows: number): string | undefined {
  const ok = (n: number) => Number.isInteger(n) && n > 0 && n <= 1000;
  return ok(cols) && ok(rows) ? `${WIN_RESIZE_EVENT} ${rows} ${cols}\n` : undefined;
}

/** Splits one packet from conmon into its pipe and bytes; undefined for an empty or unknown one. */
export function parseAttachPacket(packet: Buffer): { stream: "stdout" | "stderr"; data: Buffer } | undefined {
  if (packet.length < 1) return undefined;
  if (packet[0] === STDOUT_PIPE) return { stream: "stdout", data: packet.subarray(1) };
  if (packet[0] === STDERR_PIPE) return { stream: "stderr", data: packet.subarray(1) };
  return undefined;
}

/** Writes one resize line to `<dir>/ctl` (conmon holds a writer open, so the open never blocks). */
export async function writeResize(dir: string, cols: number, rows: number): Promise<void> {
  const line = resizeMessage(cols, rows);
  if (!line) return;
  const fh = await fs.open(path.join(dir, "ctl"), fsc.O_WRONLY | fsc.O_NONBLOCK).catch(() => undefined);
  if (!fh) return;
  try {
    await fh.write(line);
  } catch {
    /* conmon is gone: nothing to resize */
  } finally {
    await fh.close();
  }
}

/**
 * Connects to `<dir>/attach`. Unavailable when nothing listens there (the process ended, or
 * its conmon was started without an attach socket).
 */
export async function connectAttachSocket(dir: string, what: string, maxBehind = MAX_ATTACH_BEHIND_BYTES): Promise<AttachConnection> {
  let dirFd: number;
  try {
    dirFd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (err) {
    throw unavailable(`attach to ${what}: ${(err as Error).message}`);
  }
  const sock = new SeqpacketSocket();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let closedResolve: () => void = () => {};
  const closed = new Promise<void>((r) => (closedResolve = r));
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    stdout.end();
    stderr.end();
    closedResolve();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      try {
        sock.connect(`/proc/self/fd/${dirFd}/attach`, () => {
          sock.off("error", reject);
          resolve();
        });
      } catch (err) {
        reject(err);
      }
    });
  } catch (err) {
    sock.destroy();
    throw unavailable(`attach to ${what}: ${(err as Error).message}`);
  } finally {
    closeSync(dirFd);
  }
  let overrun = false;
  // node-unix-socket 0.2.7 aborts the process (a Rust panic, "emitter already unreferenced")
  // when a socket is destroyed inside its own data callback with more packets read in the
  // same poll: the destroy waits for the next turn of the loop; what comes meanwhile is dropped.
  let destroying = false;
  const destroySoon = () => {
    if (destroying) return;
    destroying = true;
    setImmediate(() => sock.destroy());
  };
  sock.on("data", (packet: Buffer) => {
    const p = parseAttachPacket(packet);
    if (!p || p.data.length === 0 || done) return;
    (p.stream === "stdout" ? stdout : stderr).write(Buffer.from(p.data));
    if (stdout.writableLength + stderr.writableLength > maxBehind) {
      overrun = true;
      finish();
      destroySoon();
    }
  });
  sock.on("error", () => finish());
  sock.on("end", () => finish());
  sock.on("close", () => finish());
  let ended = false;
  return {
    stdout,
    stderr,
    closed,
    get overrun() {
      return overrun;
    },
    write(chunk) {
      if (done || ended) return;
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let off = 0; off < b.length; off += MAX_PACKET) sock.write(Buffer.from(b.subarray(off, off + MAX_PACKET)));
    },
    closeStdin() {
      if (done || ended) return;
      ended = true;
      sock.end();
    },
    resize: (cols, rows) => writeResize(dir, cols, rows),
    close() {
      if (!done) destroySoon();
      finish();
    },
  };
}

import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic-file.js";
import { unavailable } from "./errors.js";

/**
 * The lock that makes one process the owner of a state root, released by the kernel when its
 * holder dies.
 *
 * The lock is an abstract unix socket, `\0berth-lock-<first 32 hex of sha256(realpath(root))>`,
 * that the holder listens on for as long as it holds the lock. Binding a name is atomic: a
 * second opener gets EADDRINUSE, whether it is another process or another call in the same
 * one. The kernel closes the socket when its holder exits, however it exits (kill -9, the OOM
 * killer, a crash), before the holder becomes a zombie: a dead holder never blocks, and a pid
 * reused after a reboot means nothing. libuv opens the socket close-on-exec, so children
 * (conmon, runc) never inherit it.
 *
 * Who holds it: the holder answers every connection with one line
 * `{"pid":N,"owner":"berth daemon"}` and closes it without reading; it serves at most a few
 * connections at a time and never keeps the event loop alive. A refused opener asks (bounded
 * read, 1 s) and checks the answer against the kernel (the socket's inode in /proc/net/unix
 * among the fds of the answered pid, or of every process when that one does not hold it).
 * With no answer it names the pid in `<root>/lock` — written atomically once the lock is
 * taken, removed at release, information only: nothing decides on it.
 *
 * Limits:
 * - An abstract socket belongs to a network namespace: processes in different network
 *   namespaces do not see each other's lock. berth's daemon and CLI run in the host's
 *   namespace; containers get their own and cannot reach the host's abstract sockets.
 * - Abstract sockets have no permissions. A process in the host namespace can bind the name
 *   first (it is derived from the root's path and listed in /proc/net/unix) and so keep berth
 *   from starting; the refusal then names the pid the kernel shows holding the socket, not
 *   what that process claims to be.
 * - One root reached by two paths that realpath does not fold (a bind mount) gets two names.
 * - node binds an abstract name padded with NULs to the whole sun_path (108 bytes): every
 *   berth process names the lock so, a program binding the bare name gets another socket.
 */

export interface RootLock {
  /** Path of the informational pid file, `<root>/lock`. */
  file: string;
  /** The abstract socket's name, without the leading NUL. */
  name: string;
  /** Closes the socket (the lock is free from then on); idempotent. */
  release(): Promise<void>;
}

/** The holder of a root's lock, as far as it can be learned. */
export interface RootLockHolder {
  /** Undefined when neither the holder, the kernel nor the lock file says. */
  pid?: number;
  /** What the holder said it is (e.g. `berth daemon`); undefined when it did not answer as the holder. */
  owner?: string;
}

const ANSWER_LIMIT = 256;
const ANSWER_TIMEOUT_MS = 1_000;
const MAX_QUERIES = 8;

/** The abstract socket name of a root (already resolved by realpath), without the leading NUL. */
export function rootLockName(realRoot: string): string {
  return `berth-lock-${createHash("sha256").update(realRoot).digest("hex").slice(0, 32)}`;
}

/** "pid 123 (berth daemon)", "pid 123 (unknown program)", "an unknown process". */
export function describeHolder(h: RootLockHolder): string {
  if (h.pid === undefined) return "an unknown process";
  return `pid ${h.pid} (${h.owner ?? "unknown program"})`;
}

/** The cause of a refusal: "berth daemon process 123 is using it", ... */
function refusal(h: RootLockHolder): string {
  if (h.pid === undefined) return "another process is using it";
  if (h.owner === undefined) return `process ${h.pid} is using it (it did not answer as berth)`;
  return `${h.owner} process ${h.pid} is using it`;
}

/**
 * Takes the lock of the state root `dir` (created 0700 when missing) for `owner`, the name its
 * answer gives a refused opener. Throws Unavailable "lock <dir>: <owner> process <pid> is using
 * it" while another holder is alive. The lock is held until `release` or the process's end.
 */
export async function acquireRootLock(dir: string, owner = "berth"): Promise<RootLock> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const name = rootLockName(await fs.realpath(dir));
  const file = path.join(dir, "lock");
  const answer = JSON.stringify({ pid: process.pid, owner }) + "\n";
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.unref();
    s.on("error", () => {});
    s.on("close", () => open.delete(s));
    s.setTimeout(ANSWER_TIMEOUT_MS, () => s.destroy());
    s.end(answer, () => s.destroy());
  });
  server.maxConnections = MAX_QUERIES;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(`\0${name}`, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    throw unavailable(`lock ${dir}: ${refusal(await holderOf(name, file))}`);
  }
  server.unref();
  server.on("error", () => {});
  try {
    await writeFileAtomic(file, `${process.pid}\n`, { mode: 0o600 });
  } catch (err) {
    await closeServer(server, open);
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    file,
    name,
    release() {
      released ??= (async () => {
        // Still the holder here: nobody else can have written the file since.
        await fs.rm(file, { force: true }).catch(() => {});
        await closeServer(server, open);
      })();
      return released;
    },
  };
}

/** Who holds the lock of the root `dir`; undefined when it is free. Never throws. */
export async function inspectRootLock(dir: string): Promise<RootLockHolder | undefined> {
  const real = await fs.realpath(dir).catch(() => path.resolve(dir));
  const name = rootLockName(real);
  const said = await ask(name);
  if (said === "free") return undefined;
  return resolveHolder(name, said, path.join(dir, "lock"));
}

function closeServer(server: net.Server, open: Set<net.Socket>): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of open) s.destroy();
  });
}

async function holderOf(name: string, file: string): Promise<RootLockHolder> {
  const said = await ask(name);
  return resolveHolder(name, said === "free" ? undefined : said, file);
}

/** The holder as the kernel shows it, the answer when the kernel agrees (or cannot tell), else the lock file. */
async function resolveHolder(name: string, said: RootLockHolder | undefined, file: string): Promise<RootLockHolder> {
  const inodes = await socketInodes(name);
  if (inodes.size > 0) {
    if (said?.pid !== undefined && (await holdsInode(said.pid, inodes))) return said;
    const pids = await holdersOf(inodes);
    if (pids.length > 0) return { pid: pids[0]! };
  }
  if (said?.pid !== undefined) return said;
  const pid = Number((await readHead(file, 32)).trim());
  return Number.isSafeInteger(pid) && pid > 0 ? { pid } : {};
}

/**
 * Connects to the lock socket and reads the holder's line: "free" when nobody listens, the
 * parsed answer, or undefined when the holder said nothing usable within the bounds.
 */
function ask(name: string): Promise<RootLockHolder | "free" | undefined> {
  return new Promise((resolve) => {
    let buf = "";
    let settled = false;
    const done = (v: RootLockHolder | "free" | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const c = net.connect(`\0${name}`);
    const timer = setTimeout(() => done(undefined), ANSWER_TIMEOUT_MS);
    timer.unref();
    c.setEncoding("latin1");
    c.on("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" || err.code === "ENOENT" ? "free" : undefined));
    c.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl >= 0) done(parseAnswer(buf.slice(0, nl)));
      else if (buf.length > ANSWER_LIMIT) done(undefined);
    });
    c.on("end", () => done(parseAnswer(buf)));
  });
}

function parseAnswer(line: string): RootLockHolder | undefined {
  if (line.length > ANSWER_LIMIT) return undefined;
  try {
    const v = JSON.parse(line) as { pid?: unknown; owner?: unknown };
    if (typeof v.pid !== "number" || !Number.isSafeInteger(v.pid) || v.pid <= 0) return undefined;
    const owner = typeof v.owner === "string" && /^[\x20-\x7e]{1,64}$/.test(v.owner) ? v.owner : undefined;
    return owner === undefined ? { pid: v.pid } : { pid: v.pid, owner };
  } catch {
    return undefined;
  }
}

/** Inodes of the sockets bound to the abstract name (listener and accepted ones), from /proc/net/unix. */
async function socketInodes(name: string): Promise<Set<string>> {
  const text = await fs.readFile("/proc/net/unix", "latin1").catch(() => "");
  const inodes = new Set<string>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // NULs show as "@"; node binds the name padded with NULs to the full sun_path.
    if (f[7]?.replace(/@+$/, "") === `@${name}` && f[6] && f[6] !== "0") inodes.add(f[6]);
  }
  return inodes;
}

async function holdsInode(pid: number, inodes: Set<string>): Promise<boolean> {
  const fdDir = `/proc/${pid}/fd`;
  const fds = await fs.readdir(fdDir).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await fs.readlink(`${fdDir}/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) return true;
  }
  return false;
}

/** Every process whose fds include one of the inodes (those this process may look into). */
async function holdersOf(inodes: Set<string>): Promise<number[]> {
  const pids = (await fs.readdir("/proc").catch(() => [] as string[])).filter((d) => /^\d+$/.test(d)).map(Number);
  const found: number[] = [];
  for (const pid of pids) if (await holdsInode(pid, inodes)) found.push(pid);
  return found;
}

async function readHead(file: string, bytes: number): Promise<string> {
  const fh = await fs.open(file, "r").catch(() => undefined);
  if (!fh) return "";
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString("latin1");
  } finally {
    await fh.close();
  }
}

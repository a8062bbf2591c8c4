import { failedPrecondition } from "../../lib/errors.js";
import type { Attachment, AttachOptions } from "../types.js";
import { connectAttachSocket } from "./attach-socket.js";
import type { RuntimeContext } from "./context.js";
import type { ContainerRecord } from "./records.js";

/**
 * `docker attach` on the embedded runtime: a connection to the attach socket of the
 * container's conmon (`<bundle>/attach`, attach-socket.ts). Output from now on (the log has
 * what came before); stdin forwarded when the container has `stdin` (conmon -i; left open
 * when a client's input ends, `--leave-stdin-open`, unless it has `stdinOnce`); resizes to
 * its terminal when it has `tty`.
 * Detach keys are the client's business: `detach()` just disconnects. FailedPrecondition
 * unless running or in its start's `beforeRun` (start.ts: conmon and its socket exist, the
 * process has written nothing yet). Not serialized with stop: the connection ends with the process.
 */
export async function attachToContainer(ctx: RuntimeContext, rec: ContainerRecord, options: AttachOptions = {}): Promise<Attachment> {
  if (rec.status !== "running" && !ctx.beforeRun.has(rec.id)) throw failedPrecondition(`attach to container ${rec.name}: not running`, { object: { kind: "container", name: rec.name } });
  const dir = ctx.bundleDir(rec.id);
  const conn = await connectAttachSocket(dir, `container ${rec.name}`);
  const tty = rec.spec.tty === true;
  const stdin = rec.spec.stdin === true;
  let detached = false;
  if (tty && options.size) await conn.resize(options.size.cols, options.size.rows);
  if (stdin && options.stdin) {
    const source = options.stdin;
    void (async () => {
      try {
        for await (const chunk of source) conn.write(chunk);
        // The client's input ended: conmon closes the process's stdin unless it leaves it open (not stdinOnce).
        conn.closeStdin();
      } catch {
        /* the client went away */
      }
    })();
  }
  return {
    tty,
    stdin,
    stdout: conn.stdout,
    stderr: conn.stderr,
    resize: (s) => (tty ? conn.resize(s.cols, s.rows) : Promise.resolve()),
    detach() {
      detached = true;
      conn.close();
    },
    // Closed for an overrun is not an exit: the process goes on.
    ended: conn.closed.then(() => (conn.overrun ? { exited: false, overrun: true } : { exited: !detached })),
  };
}

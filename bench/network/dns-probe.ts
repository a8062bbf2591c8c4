/**
 * Run inside a container's network namespace (`nsenter --net=<netns> -- node dns-probe.js
 * NAME SERVER BUDGET_MS`): asks SERVER:53 for NAME's A record over UDP, one query at a time
 * (each waits ≤100 ms for its reply; the next goes 1 ms after a reply), until an answer carries an address or the budget is
 * spent. Prints `ready` after the first reply of any kind (the resolver answers this
 * client), then one JSON line: `{resolvedAt}` — wall-clock ms (performance.timeOrigin +
 * now) of the reply with the address — or `{timeout}`; and the queries sent.
 */
import * as dgram from "node:dgram";

const [name = "", server = "", budget = "10000"] = process.argv.slice(2);
const wall = () => performance.timeOrigin + performance.now();
const deadline = wall() + Number(budget);

function query(id: number): Buffer {
  const labels = name.split(".").flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, "ascii")]);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // recursion desired
  head.writeUInt16BE(1, 4); // one question
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]); // root, type A, class IN
}

const sock = dgram.createSocket("udp4");
let id = 1;
let ready = false;
let sent = 0;
let timer: NodeJS.Timeout | undefined;
const finish = (line: object) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ ...line, queries: sent }));
  sock.close();
};
const next = () => {
  if (wall() > deadline) return finish({ timeout: true });
  id = (id % 65535) + 1;
  sent++;
  sock.send(query(id), 53, server);
  timer = setTimeout(next, 100);
};
sock.on("message", (msg) => {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
  const at = wall();
  clearTimeout(timer);
  if (!ready) {
    ready = true;
    console.log("ready");
  }
  const rcode = msg.readUInt16BE(2) & 0xf;
  if (rcode === 0 && msg.readUInt16BE(6) > 0) return finish({ resolvedAt: at });
  timer = setTimeout(next, 1); // paced: the resolver shares its event loop with the start being timed
});
sock.on("error", (err) => finish({ error: String(err) }));
next();

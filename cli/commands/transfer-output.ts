/**
 * How `berth image pull` and `push` print a transfer's events (ImageTransferEvent), in
 * Docker's words: per layer `<12 hex>: Downloading 12.3MB/50MB`, `Verifying Checksum`,
 * `Download complete`, `Pull complete`, `Already exists` (a resumed download says
 * `(resumed at 4MB)`); per pushed blob `Pushing`, `Pushed`, `Layer already exists`, `Mounted
 * from <repo>`; then `Digest: …`, `Status: …` and the reference (pull), `<tag>: digest: …
 * size: N` (push). Config blobs are not shown (Docker does not show them).
 *
 * Plain (no terminal): a line when a layer's status changes, and a Downloading/Pushing line
 * each time a quarter of it is crossed — the same events give the same lines. On a terminal:
 * one line per layer, rewritten in place. Quiet: only the reference (pull) or name (push).
 */
import { familiarReference, parseReference } from "../../lib/reference.js";
import type { ImageTransferEvent } from "../../controller/api/protocol.js";
import type { Output } from "../client.js";
import { dockerSize } from "./image-history.js";

export type TransferMode = "plain" | "quiet" | "tty";

export const shortDigest = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

/** `docker.io/library/busybox:latest` → `latest` and `library/busybox` (a digest reference: its digest). */
export function pullHeader(reference: string): string {
  const r = parseReference(reference);
  return `${r.digest ?? r.tag}: Pulling from ${r.path}`;
}

/** Per-layer lines: rewritten in place on a terminal, else printed when they change. */
class LayerLines {
  private readonly lines = new Map<string, string>();
  private drawn = 0;

  constructor(
    private readonly out: Output,
    private readonly tty: boolean,
  ) {}

  set(key: string, text: string): void {
    if (this.lines.get(key) === text) return;
    this.lines.set(key, text);
    if (!this.tty) {
      this.out.write(`${key}: ${text}\n`);
      return;
    }
    const up = this.drawn ? `\u001b[${this.drawn}A\r\u001b[0J` : "";
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    const body = [...this.lines].map(([k, t]) => `${k}: ${t}`.slice(0, width));
    this.out.write(`${up}${body.join("\n")}\n`);
    this.drawn = body.length;
  }

  /** Ends the block: the next layer starts a new one below what is printed now. */
  freeze(): void {
    this.lines.clear();
    this.drawn = 0;
  }
}

const quarter = (done: number, total: number) => (total > 0 ? Math.min(4, Math.floor((done * 4) / total)) : 0);

export class TransferPrinter {
  private readonly layers: LayerLines;
  private readonly quarters = new Map<string, number>();
  private readonly resumedAt = new Map<string, number>();
  private readonly headers = new Set<string>();

  constructor(
    private readonly out: Output,
    private readonly mode: TransferMode,
    /** A push's `exists` is the registry's (`Layer already exists`), its `done` an upload (`Pushed`). */
    private readonly direction: "pull" | "push",
  ) {
    this.layers = new LayerLines(out, mode === "tty");
  }

  /** `The push refers to repository [localhost:5000/app]`, before a push's events. */
  pushStarted(reference: string): void {
    if (this.mode === "quiet") return;
    const r = parseReference(reference);
    this.out.write(`The push refers to repository [${r.domain}/${r.path}]\n`);
  }

  private line(text: string): void {
    this.layers.freeze();
    this.out.write(`${text}\n`);
  }

  /** Prints one event; `error` events are the caller's. */
  event(e: ImageTransferEvent): void {
    if (this.mode === "quiet") {
      if (e.kind === "pulled") this.out.write(`${e.reference}\n`);
      if (e.kind === "pushed") this.out.write(`${familiarReference(e.reference)}\n`);
      return;
    }
    switch (e.kind) {
      case "resolved": {
        const header = pullHeader(e.reference);
        if (!this.headers.has(header)) {
          this.headers.add(header);
          this.line(header);
        }
        return;
      }
      case "endpoint-failed":
        this.line(`Mirror ${e.endpoint} failed (${e.error}); trying the next`);
        return;
      case "blob":
        if (e.role !== "layer") return;
        return this.blob(e);
      case "unpacked":
        this.layers.set(shortDigest(e.digest), "Pull complete");
        return;
      case "pulled": {
        const upToDate = e.blobs.every((b) => b.outcome === "exists");
        this.line(`Digest: ${e.digest}`);
        this.out.write(`Status: ${upToDate ? "Image is up to date for" : "Downloaded newer image for"} ${familiarReference(e.reference)}\n`);
        this.out.write(`${e.reference}\n`);
        return;
      }
      case "pushed": {
        const r = parseReference(e.reference);
        this.line(`${r.tag ?? r.digest}: digest: ${e.digest} size: ${e.size}`);
        return;
      }
      case "error":
        return;
    }
  }

  private blob(e: Extract<ImageTransferEvent, { kind: "blob" }>): void {
    const key = shortDigest(e.digest);
    const sizes = `${dockerSize(e.done)}/${dockerSize(e.total)}`;
    switch (e.status) {
      case "exists":
        this.layers.set(key, this.direction === "push" ? "Layer already exists" : "Already exists");
        return;
      case "resuming":
        if (!this.resumedAt.has(key)) this.resumedAt.set(key, e.done);
        return this.moving(key, "Downloading", e.done, e.total, sizes);
      case "downloading":
        return this.moving(key, "Downloading", e.done, e.total, sizes);
      case "uploading":
        return this.moving(key, "Pushing", e.done, e.total, sizes);
      case "verifying":
        this.layers.set(key, "Verifying Checksum");
        return;
      case "done":
        this.layers.set(key, this.direction === "push" ? "Pushed" : "Download complete");
        return;
      case "mounted":
        this.layers.set(key, `Mounted from ${e.from ?? "another repository"}`);
        return;
    }
  }

  private moving(key: string, verb: string, done: number, total: number, sizes: string): void {
    const resumed = this.resumedAt.get(key);
    const text = `${verb} ${sizes}${resumed !== undefined && resumed > 0 ? ` (resumed at ${dockerSize(resumed)})` : ""}`;
    if (this.mode === "tty") return this.layers.set(key, text);
    const q = quarter(done, total);
    const last = this.quarters.get(key);
    if (last !== undefined && q <= last) return;
    this.quarters.set(key, q);
    this.layers.set(key, text);
  }
}

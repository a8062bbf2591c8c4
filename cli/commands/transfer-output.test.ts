import { describe, expect, it } from "vitest";
import type { ImageTransferEvent } from "../../controller/api/protocol.js";
import { Capture } from "../testing.js";
import { pullHeader, TransferPrinter } from "./transfer-output.js";

const L1 = `sha256:${"1".repeat(64)}`;
const L2 = `sha256:${"2".repeat(64)}`;
const CFG = `sha256:${"c".repeat(64)}`;
const MF = `sha256:${"f".repeat(64)}`;
const MB = 1_000_000;
const blob = (digest: string, status: Extract<ImageTransferEvent, { kind: "blob" }>["status"], done: number, total: number, role: "layer" | "config" = "layer", from?: string): ImageTransferEvent => ({
  kind: "blob",
  digest,
  mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  role,
  status,
  done,
  total,
  ...(from ? { from } : {}),
});

const PULL: ImageTransferEvent[] = [
  { kind: "resolved", reference: "docker.io/library/busybox:latest", digest: MF, mediaType: "application/vnd.oci.image.manifest.v1+json", endpoint: "https://registry-1.docker.io" },
  blob(CFG, "downloading", 0, 1000, "config"),
  blob(L1, "exists", 3 * MB, 3 * MB),
  blob(L2, "resuming", 10 * MB, 50 * MB),
  blob(L2, "resuming", 11 * MB, 50 * MB),
  blob(L2, "resuming", 12.3 * MB, 50 * MB),
  blob(L2, "resuming", 30 * MB, 50 * MB),
  blob(L2, "resuming", 31 * MB, 50 * MB),
  blob(L2, "verifying", 50 * MB, 50 * MB),
  blob(L2, "done", 50 * MB, 50 * MB),
  { kind: "unpacked", digest: L2, chainId: `sha256:${"9".repeat(64)}` },
  {
    kind: "pulled",
    reference: "docker.io/library/busybox:latest",
    digest: MF,
    id: CFG,
    endpoint: "https://registry-1.docker.io",
    blobs: [
      { digest: L1, outcome: "exists" },
      { digest: L2, outcome: "resumed" },
    ],
  },
];

describe("pull and push output, without a terminal", () => {
  it("pull: Docker's header and per-layer lines, a Downloading line per quarter crossed, resumed at, then Digest, Status and the reference", () => {
    const out = new Capture();
    const p = new TransferPrinter(out, "plain", "pull");
    for (const e of PULL) p.event(e);
    expect(out.text).toBe(
      [
        "latest: Pulling from library/busybox",
        "111111111111: Already exists",
        "222222222222: Downloading 10MB/50MB (resumed at 10MB)",
        "222222222222: Downloading 30MB/50MB (resumed at 10MB)",
        "222222222222: Verifying Checksum",
        "222222222222: Download complete",
        "222222222222: Pull complete",
        `Digest: ${MF}`,
        "Status: Downloaded newer image for busybox:latest",
        "docker.io/library/busybox:latest",
        "",
      ].join("\n"),
    );
  });

  it("pull: an image whose blobs were all there is up to date; quiet prints the reference only", () => {
    const upToDate: ImageTransferEvent = { kind: "pulled", reference: "127.0.0.1:5000/app:1", digest: MF, id: CFG, endpoint: "http://127.0.0.1:5000", blobs: [{ digest: L1, outcome: "exists" }] };
    const out = new Capture();
    new TransferPrinter(out, "plain", "pull").event(upToDate);
    expect(out.text).toBe(`Digest: ${MF}\nStatus: Image is up to date for 127.0.0.1:5000/app:1\n127.0.0.1:5000/app:1\n`);
    const q = new Capture();
    const qp = new TransferPrinter(q, "quiet", "pull");
    for (const e of [...PULL, upToDate]) qp.event(e);
    expect(q.text).toBe("docker.io/library/busybox:latest\n127.0.0.1:5000/app:1\n");
    expect(pullHeader(`localhost/app@${MF}`)).toBe(`${MF}: Pulling from app`);
  });

  it("push: the repository, Layer already exists, Mounted from, Pushing per quarter and Pushed, then the tag's digest and size", () => {
    const out = new Capture();
    const p = new TransferPrinter(out, "plain", "push");
    p.pushStarted("127.0.0.1:5000/team/app:1");
    for (const e of [
      blob(L1, "exists", MB, MB),
      blob(L2, "mounted", MB, MB, "layer", "team/base"),
      blob(`sha256:${"3".repeat(64)}`, "uploading", 0, 4 * MB),
      blob(`sha256:${"3".repeat(64)}`, "uploading", 1 * MB, 4 * MB),
      blob(`sha256:${"3".repeat(64)}`, "uploading", 1.5 * MB, 4 * MB),
      blob(`sha256:${"3".repeat(64)}`, "done", 4 * MB, 4 * MB),
      blob(CFG, "done", 900, 900, "config"),
      { kind: "pushed", reference: "127.0.0.1:5000/team/app:1", digest: MF, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1234, blobs: [] },
    ] satisfies ImageTransferEvent[])
      p.event(e);
    expect(out.text).toBe(
      [
        "The push refers to repository [127.0.0.1:5000/team/app]",
        "111111111111: Layer already exists",
        "222222222222: Mounted from team/base",
        "333333333333: Pushing 0B/4MB",
        "333333333333: Pushing 1MB/4MB",
        "333333333333: Pushed",
        `1: digest: ${MF} size: 1234`,
        "",
      ].join("\n"),
    );
  });

  it("on a terminal rewrites each layer's line in place", () => {
    const out = new Capture(true);
    const p = new TransferPrinter(out, "tty", "pull");
    p.event(blob(L1, "downloading", 0, 2 * MB));
    p.event(blob(L1, "downloading", MB, 2 * MB));
    expect(out.text).toBe("111111111111: Downloading 0B/2MB\n\u001b[1A\r\u001b[0J111111111111: Downloading 1MB/2MB\n");
  });
});

import { describe, expect, it } from "vitest";
import { imageHistory } from "./image-history.js";
import { MediaType } from "./media-types.js";

const layer = (n: number, size: number) => ({ mediaType: MediaType.ociLayerGzip, digest: `sha256:${String(n).repeat(64)}`, size });
const image = { digest: "sha256:" + "f".repeat(64), layers: [layer(1, 100), layer(2, 200)], chainIds: ["sha256:c1", "sha256:c2"] };
const config = (history: unknown[]) => Buffer.from(JSON.stringify({ history }));
/** c1 is unpacked (1000 bytes uncompressed), c2 is not. */
const unpacked = async (c: string) => (c === "sha256:c1" ? 1000 : undefined);

describe("image history", () => {
  it("pairs non-empty entries with the layers in order, newest first; unpacked sizes, else blob sizes", async () => {
    const h = await imageHistory(
      image,
      config([
        { created: "2024-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:abc in /" },
        { created: "2024-01-01T00:00:01Z", created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
        { created: "2024-05-01T00:00:00Z", created_by: "sh -c touch /x", comment: "by hand", author: "me" },
      ]),
      unpacked,
    );
    expect(h).toEqual([
      { created: "2024-05-01T00:00:00Z", createdBy: "sh -c touch /x", comment: "by hand", emptyLayer: false, size: 200 },
      { created: "2024-01-01T00:00:01Z", createdBy: '/bin/sh -c #(nop)  CMD ["sh"]', emptyLayer: true, size: 0 },
      { created: "2024-01-01T00:00:00Z", createdBy: "/bin/sh -c #(nop) ADD file:abc in /", emptyLayer: false, size: 1000 },
    ]);
  });

  it("shows layers no entry describes; refuses more non-empty entries than layers", async () => {
    expect(await imageHistory(image, config([{ created_by: "base" }]), unpacked)).toEqual([
      { emptyLayer: false, size: 200 },
      { createdBy: "base", emptyLayer: false, size: 1000 },
    ]);
    expect(await imageHistory(image, Buffer.from("{}"), async () => undefined)).toEqual([
      { emptyLayer: false, size: 200 },
      { emptyLayer: false, size: 100 },
    ]);
    await expect(imageHistory(image, config([{}, {}, {}]), unpacked)).rejects.toMatchObject({
      kind: "InvalidArgument",
      message: `history of image ${image.digest}: more non-empty history entries than its 2 layers`,
    });
  });
});

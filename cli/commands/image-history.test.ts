import { describe, expect, it } from "vitest";
import type { ImageHistory } from "../../controller/api/protocol.js";
import { ago, NOW } from "../testing.js";
import { dockerSize, ellipsis, formatHistory } from "./image-history.js";

const ID = `sha256:${"ab12".repeat(16)}`;
const long = "/bin/sh -c apk add --no-cache curl ca-certificates tzdata && rm -rf /var/cache/apk/*";
const history: ImageHistory = {
  id: ID,
  items: [
    { created: ago(120_000), createdBy: "sh -c echo hi > /greeting", comment: "add a greeting", emptyLayer: false, size: 4_261_234 },
    { created: ago(3 * 86_400_000), createdBy: '/bin/sh -c #(nop)  CMD ["sh"]', emptyLayer: true, size: 0 },
    { created: ago(3 * 86_400_000 + 1000), createdBy: long.replace("apk add", "apk\tadd"), emptyLayer: false, size: 1234 },
    { emptyLayer: false, size: 22 },
  ],
};

describe("berth image history output", () => {
  it("is Docker's table: newest first, the ID on the top row, <missing> below, human times, 45-character commands", () => {
    expect(formatHistory(history, { noTrunc: false, quiet: false }, NOW)).toBe(
      [
        "IMAGE          CREATED         CREATED BY                                      SIZE     COMMENT",
        "ab12ab12ab12   2 minutes ago   sh -c echo hi > /greeting                       4.26MB   add a greeting",
        '<missing>      3 days ago      /bin/sh -c #(nop)  CMD ["sh"]                   0B',
        "<missing>      3 days ago      /bin/sh -c apk add --no-cache curl ca-certif…   1.23kB",
        "<missing>      N/A                                                             22B",
        "",
      ].join("\n"),
    );
  });

  it("with --no-trunc: the full ID and commands (tabs as spaces)", () => {
    const out = formatHistory(history, { noTrunc: true, quiet: false }, NOW).split("\n");
    expect(out[1]!.startsWith(`${ID}   2 minutes ago`)).toBe(true);
    expect(out[3]).toContain(`${long}   1.23kB`);
  });

  it("-q prints the IMAGE column; --format json one object per row with Docker's keys", () => {
    expect(formatHistory(history, { noTrunc: false, quiet: true }, NOW)).toBe("ab12ab12ab12\n<missing>\n<missing>\n<missing>\n");
    const rows = formatHistory(history, { noTrunc: false, quiet: false, format: "json" }, NOW).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(rows[0]).toEqual({ Comment: "add a greeting", CreatedAt: "2024-05-01T11:58:00Z", CreatedBy: "sh -c echo hi > /greeting", CreatedSince: "2 minutes ago", ID: "ab12ab12ab12", Size: "4.26MB" });
    expect(rows[2].CreatedBy).toBe("/bin/sh -c apk add --no-cache curl ca-certif…");
    expect(rows[3]).toEqual({ Comment: "", CreatedAt: "", CreatedBy: "", CreatedSince: "N/A", ID: "<missing>", Size: "22B" });
  });

  it("sizes are go-units' HumanSizeWithPrecision(size, 3); ellipsis keeps at most the width", () => {
    expect([0, 22, 999, 1000, 1234, 999_949, 4_261_234, 1.5e9, 999.9].map(dockerSize)).toEqual(["0B", "22B", "999B", "1kB", "1.23kB", "1e+03kB", "4.26MB", "1.5GB", "1e+03B"]);
    expect(ellipsis("abcdef", 6)).toBe("abcdef");
    expect(ellipsis("abcdefg", 6)).toBe("abcde…");
    expect(ellipsis("ääääääää", 4)).toBe("äää…");
  });
});

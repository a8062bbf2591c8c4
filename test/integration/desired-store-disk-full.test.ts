/**
 * The desired store on a disk that fills during the write (a small tmpfs): every apply ends
 * with the old state or the new one — in memory and after a reopen — never a mix, and an
 * apply that resolved is never lost (issue 8, case 3).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DesiredStore } from "../../controller/store/desired-store.js";
import { containerObject } from "../../controller/testing.js";
import { hostLacks } from "../helpers/host.js";

const lacking = hostLacks("root");

describe.skipIf(lacking)("desired store on a full disk (tmpfs)", () => {
  let mnt: string;
  beforeAll(() => {
    mnt = mkdtempSync(path.join(tmpdir(), "berth-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", mnt]);
  });
  afterAll(() => {
    try {
      execFileSync("umount", [mnt]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  const old = () => [containerObject("web")];
  // big enough that a copy takes several pages: env values of 4 KiB
  const next = () => Array.from({ length: 8 }, (_, i) => containerObject(`c${i}`, { env: [{ name: "PAD", value: "x".repeat(4096) }] }));
  const keys = (s: DesiredStore) => s.list().map((o) => o.key).sort();
  const OLD = ["container/web"];
  const NEW = next().map((o) => `container/${o.metadata.name}`).sort();

  async function fill(dir: string, leaveBytes: number) {
    const st = await fs.statfs(mnt);
    const free = Number(st.bavail) * Number(st.bsize);
    const n = Math.max(0, free - leaveBytes);
    if (n > 0) await fs.writeFile(path.join(mnt, "filler"), Buffer.alloc(n)).catch(() => {});
    return dir;
  }

  it("old or new state, never a mix, whatever space is left", async () => {
    const outcomes = new Set<string>();
    for (let leave = 0; leave <= 160 * 1024; leave += 8 * 1024) {
      await fs.rm(path.join(mnt, "filler"), { force: true });
      const dir = path.join(mnt, "state");
      await fs.rm(dir, { recursive: true, force: true });
      const s = await DesiredStore.open(dir);
      await s.apply("shop", old());
      await fill(dir, leave);
      let resolved = false;
      try {
        await s.apply("shop", next(), { prune: true });
        resolved = true;
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code, `leave ${leave}`).toBe("ENOSPC");
        expect(keys(s), `memory after a failed apply, leave ${leave}`).toEqual(OLD);
      }
      if (resolved) expect(keys(s)).toEqual(NEW);
      // free the space so that the reopen can repair a copy, as a restarted daemon would
      await fs.rm(path.join(mnt, "filler"), { force: true });
      const reopened = await DesiredStore.open(dir);
      const got = keys(reopened);
      expect([OLD, NEW], `reopen after leave ${leave}`).toContainEqual(got);
      if (resolved) expect(got, `an acknowledged apply is kept, leave ${leave}`).toEqual(NEW);
      expect(reopened.recovery.lost).toBe(false);
      outcomes.add(resolved ? "applied" : got === OLD || JSON.stringify(got) === JSON.stringify(OLD) ? "refused, old kept" : "refused, new on disk");
    }
    // the sweep reached both a refused and a successful apply
    expect(outcomes.has("applied")).toBe(true);
    expect([...outcomes].some((o) => o.startsWith("refused"))).toBe(true);
  });
});

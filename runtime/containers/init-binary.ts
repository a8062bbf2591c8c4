import { promises as fs } from "node:fs";
import { failedPrecondition } from "../../lib/errors.js";

/**
 * `init: true` needs the runtime's init binary (tini-static: a static binary, so it runs in
 * any image): FailedPrecondition naming the package when it is not an executable file.
 */
export async function checkInitBinary(initPath: string, container: string, verb: "create" | "start"): Promise<void> {
  const ok = await fs.stat(initPath).then((st) => st.isFile() && (st.mode & 0o111) !== 0, () => false);
  if (!ok) {
    throw failedPrecondition(`${verb} container ${container}: init: true needs the init binary ${initPath}, which is missing: install Debian's tini package (apt-get install tini, it ships /usr/bin/tini-static)`, {
      object: { kind: "container", name: container },
    });
  }
}

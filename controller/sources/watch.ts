import * as path from "node:path";
import type { Logger } from "pino";
import type { DirWatch, WatchDir } from "./types.js";
import { isManifestName, isSourcePath } from "./snapshot.js";

/**
 * The directory watch of a source, with chokidar (v4). It only says "something changed":
 * the source re-reads the whole set after its own debounce, so missed, doubled or reordered
 * events (an atomic save's unlink+add, a checkout of many files) cannot cause a wrong apply.
 * Hidden entries (`.git`, editors' swap files) and files other than .yaml/.yml are ignored;
 * symlinks are not followed (the reader decides about them). Watch errors are logged: the
 * periodic resync still converges.
 */
export function chokidarWatch(logger: Logger): WatchDir {
  return (dir, onChange): DirWatch => {
    let closed = false;
    const watcher = import("chokidar").then(({ watch }) => {
      const w = watch(dir, {
        ignoreInitial: true,
        followSymlinks: false,
        persistent: true,
        ignored: (p: string, stats?: { isFile(): boolean }) => {
          const rel = path.relative(dir, p);
          if (rel.startsWith("..")) return true;
          if (!isSourcePath(rel)) return true;
          return !!stats?.isFile() && !isManifestName(p);
        },
      });
      w.on("all", (event, p) => {
        // a removed or added directory may hold manifests; other non-manifest paths were filtered above
        if (event === "addDir" || event === "unlinkDir" || isManifestName(p)) onChange();
      });
      w.on("error", (err) => logger.warn({ err, dir }, "watching the source failed"));
      return w;
    });
    return {
      ready: watcher.then((w) => new Promise<void>((resolve) => w.once("ready", () => resolve()))),
      async close() {
        if (closed) return;
        closed = true;
        await (await watcher).close();
      },
    };
  };
}

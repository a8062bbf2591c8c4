import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The built script `name` beside the module at `moduleUrl` (its `import.meta.url`) when that
 * module is itself the built JavaScript; undefined when it runs from the TypeScript sources,
 * or the script is not there. What a worker thread or helper process is started from.
 */
export function builtSibling(moduleUrl: string, name: string): string | undefined {
  const here = fileURLToPath(moduleUrl);
  if (!here.endsWith(".js")) return undefined;
  const script = path.join(path.dirname(here), name);
  return existsSync(script) ? script : undefined;
}

import { formatPath, type Diagnostic } from "../../controller/manifests/diagnostics.js";
import { composeBundleStack } from "../../controller/manifests/compose/bundle.js";
import { loadManifestTexts, readManifestInputs } from "../../controller/manifests/load.js";
import { locate, parseManifestText } from "../../controller/manifests/parse.js";
import { errorMessage, exitCodeOfKind, isBerthError } from "../../lib/errors.js";
import { KINDS, resolveKind, type Kind } from "../../schemas/kinds.js";
import type { CommandContext } from "../client.js";
import { UsageError } from "../errors.js";
import { objectRef } from "../format-status.js";
import { objectArgs } from "../manifest-args.js";
import { printDiagnostics } from "./validate.js";

export interface DeleteOptions {
  filename?: string[];
  recursive: boolean;
  ignoreNotFound: boolean;
  /** A Compose file's project name and profiles, as apply/up had them. */
  projectName?: string;
  profile?: string[];
}

/**
 * The kind and name of every document in manifest texts: only parsed, not validated, so that
 * objects can be deleted with files that no longer validate.
 */
export async function objectsInFiles(
  ctx: CommandContext,
  filename: string[],
  recursive: boolean,
  compose: { projectName?: string; profiles?: string[] } = {},
): Promise<{ objects: { kind: Kind; name: string }[]; diagnostics: Diagnostic[] }> {
  const { texts, diagnostics } = await readManifestInputs(filename, { recursive, stdin: ctx.stdin, compose });
  const objects: { kind: Kind; name: string }[] = [];
  const add = (kind: Kind, name: string) => {
    if (!objects.some((o) => o.kind === kind && o.name === name)) objects.push({ kind, name });
  };
  for (const t of texts) {
    if (composeBundleStack(t.text) !== undefined) {
      // A Compose file names its objects only once converted (shop-web, shop-default, ...).
      // Deleting creates nothing: the host-access policy (privileged, host binds) is not checked.
      const loaded = loadManifestTexts([t], { allowPrivileged: true, allowHostBinds: true });
      diagnostics.push(...loaded.diagnostics.filter((d) => d.severity === "error"));
      for (const o of loaded.objects) add(o.kind, o.metadata.name);
      continue;
    }
    const parsed = parseManifestText(t.file, t.text);
    diagnostics.push(...parsed.diagnostics);
    for (const doc of parsed.documents) {
      if (doc.value === null || doc.value === undefined) continue; // empty document
      const v = doc.value as { kind?: unknown; metadata?: { name?: unknown } };
      const kind = typeof v.kind === "string" ? resolveKind(v.kind) : undefined;
      const name = v.metadata?.name;
      const problem = (path: (string | number)[], message: string) => {
        const pos = locate(doc, path);
        diagnostics.push({ severity: "error", file: t.file, line: pos.line, column: pos.column, path: formatPath(path), message });
      };
      if (!kind) problem(["kind"], typeof v.kind === "string" ? `unknown kind ${JSON.stringify(v.kind)}` : "missing kind");
      else if (typeof name !== "string" || !name) problem(["metadata", "name"], "missing metadata.name");
      else add(kind, name);
    }
  }
  return { objects, diagnostics };
}

/**
 * `berth delete -f FILE... | KIND NAME... | KIND/NAME...`. Objects named in files go in
 * reverse dependency order (containers before the volumes and networks they use). Every
 * object is tried; the exit code is that of the first error (NotFound → 3 unless ignored).
 */
export async function runDelete(ctx: CommandContext, args: string[], o: DeleteOptions): Promise<number> {
  let targets: { kind: Kind; name: string }[];
  if (o.filename?.length) {
    if (args.length) throw new UsageError("give objects either with -f or as arguments, not both");
    const { objects, diagnostics } = await objectsInFiles(ctx, o.filename, o.recursive, { ...(o.projectName ? { projectName: o.projectName } : {}), ...(o.profile?.length ? { profiles: o.profile } : {}) });
    printDiagnostics(diagnostics, ctx.stderr);
    if (diagnostics.some((d) => d.severity === "error")) return 1;
    targets = [...objects].sort((a, b) => KINDS.indexOf(b.kind) - KINDS.indexOf(a.kind));
  } else {
    targets = objectArgs(args);
  }
  let code = 0;
  for (const t of targets) {
    try {
      const entry = await ctx.client.delete(t.kind, t.name);
      ctx.stdout.write(`${objectRef(entry.kind, entry.name)} ${entry.action}\n`);
    } catch (err) {
      if (isBerthError(err, "NotFound") && o.ignoreNotFound) continue;
      if (!isBerthError(err)) throw err;
      ctx.stderr.write(`berth: ${errorMessage(err)}\n`);
      if (err.kind === "Unavailable") return exitCodeOfKind.Unavailable;
      if (code === 0) code = exitCodeOfKind[err.kind];
    }
  }
  return code;
}

/**
 * How `berth image build` prints a build's events (ImageBuildEvent, protocol.ts): one line
 * per step as BuildKit numbers them (`#3 [build 2/4] RUN make`), ` ---> CACHED` or
 * ` ---> miss: <reason>` after a layer step, RUN output as it streams (never hidden), warnings
 * on standard error, and Docker's closing lines (`Successfully built <id>`, `Successfully
 * tagged <name>`). Quiet prints only the image ID (`docker build -q`). Pure over its Output:
 * the same events give the same text, on a terminal too (only the step lines are bold there).
 */
import { familiarReference, normalizeTaggedReference } from "../../lib/reference.js";
import type { ImageBuildEvent } from "../../controller/api/protocol.js";
import type { Output } from "../client.js";
import { paint } from "../style.js";

export type BuildProgressMode = "plain" | "quiet" | "tty";

/** `--progress auto|plain|quiet` and `-q` to a mode: auto is tty on a terminal, else plain. */
export function buildProgressMode(progress: "auto" | "plain" | "quiet", quiet: boolean, out: Output): BuildProgressMode {
  if (quiet || progress === "quiet") return "quiet";
  if (progress === "plain") return "plain";
  return out.isTTY ? "tty" : "plain";
}

/** A stage as BuildKit names it: its `AS` name, else `stage-N`. */
export function stageLabel(stage: string): string {
  return /^[0-9]+$/.test(stage) ? `stage-${stage}` : stage;
}

/** Docker's short image ID: 12 hex characters of the config digest. */
export const shortImageId = (configDigest: string) => configDigest.replace(/^sha256:/, "").slice(0, 12);

/** `localhost/app:1` as Docker prints a tag: familiar, with its tag (`app:latest` for `app`). */
function shownTag(tag: string): string {
  try {
    return familiarReference(normalizeTaggedReference(tag));
  } catch {
    return tag;
  }
}

export class BuildPrinter {
  private steps = 0;
  private readonly bold: (s: string) => string;

  constructor(
    private readonly out: Output,
    private readonly err: Output,
    private readonly mode: BuildProgressMode,
  ) {
    this.bold = mode === "tty" ? paint(out).bold : (s) => s;
  }

  /** Prints one event; `error` events are the caller's (it fails the command with them). */
  event(e: ImageBuildEvent): void {
    if (this.mode === "quiet") {
      if (e.type === "done") this.out.write(`${e.configDigest}\n`);
      return;
    }
    switch (e.type) {
      case "step":
        this.out.write(`${this.bold(`#${++this.steps} [${stageLabel(e.stage)} ${e.step}/${e.steps}] ${e.text}`)}\n`);
        return;
      case "cached":
        this.out.write(" ---> CACHED\n");
        return;
      case "miss":
        this.out.write(` ---> miss: ${e.reason}\n`);
        return;
      case "output":
        this.out.write(`${e.line}\n`);
        return;
      case "warning":
        this.err.write(`WARNING: ${e.message}\n`);
        return;
      case "done":
        this.out.write(`Successfully built ${shortImageId(e.configDigest)}\n`);
        for (const t of e.tags) this.out.write(`Successfully tagged ${shownTag(t)}\n`);
        return;
      case "error":
        return;
    }
  }
}

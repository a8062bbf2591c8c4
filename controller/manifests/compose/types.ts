import type { Diagnostic } from "../diagnostics.js";
import type { ParseLimits } from "../parse.js";
import type { Lookup } from "./interpolate.js";

/** A Compose file's text as the manifest loader has it. */
export interface ComposeText {
  /** As diagnostics name it. */
  file: string;
  text: string;
  /** The directory of the file: the project directory. */
  baseDir: string;
}

/**
 * What a Compose load reads besides the file itself: `.env`, env files, extends and include
 * files. `readFile` answers the text of an absolute path, or undefined when it does not
 * exist; it may throw `FileNotRead` to ask the caller to read that file first (the async
 * reader of load.ts runs the pure load again once it has).
 */
export interface ComposeLoadOptions {
  /** `-p` / `--stack`: wins over COMPOSE_PROJECT_NAME and `name:`. */
  projectName?: string;
  /** `--profile`; undefined: COMPOSE_PROFILES. */
  profiles?: string[];
  /** The environment Compose would run in (the CLI's), for interpolation. */
  env: Lookup;
  readFile: (absPath: string) => string | undefined;
  limits: ParseLimits;
  /**
   * Absolute paths of files merged over the root one, in order (`-f a.yaml -f b.yaml`,
   * `compose.override.yaml`), read through `readFile`; their relative paths resolve against
   * the project directory, as Compose's do.
   */
  overrides?: string[];
}

export class FileNotRead extends Error {
  constructor(readonly absPath: string) {
    super(`not read yet: ${absPath}`);
  }
}

export interface ComposeDiagnostics {
  diagnostics: Diagnostic[];
}

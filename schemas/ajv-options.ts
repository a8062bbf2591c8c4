import type { Options } from "ajv";

/** One set of ajv options for both the build-time (standalone) and the run-time compile. */
export const AJV_OPTIONS: Options = { allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true };

/** Annotation keywords editors use (VS Code, yaml-language-server) that berth's messages use too. */
export const ANNOTATION_KEYWORDS = ["patternErrorMessage", "errorMessage"] as const;

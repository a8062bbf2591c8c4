/**
 * The closed set of error kinds berth uses across every layer (after containerd's errdefs).
 *
 * Code decides on `kind`, never on message text. Messages are shaped "verb subject: cause"
 * (e.g. `create container web: image busybox:1 not found`). The CLI maps kinds to exit
 * codes, the API server maps them to HTTP statuses.
 */
export type ErrorKind =
  | "NotFound"
  | "AlreadyExists"
  | "InvalidArgument"
  | "FailedPrecondition"
  | "Conflict"
  | "Unavailable"
  | "NotImplemented"
  | "Internal";

export interface ObjectRef {
  kind: string;
  name: string;
}

export interface BerthErrorOptions {
  cause?: unknown;
  object?: ObjectRef;
}

export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly object?: ObjectRef;

  constructor(kind: ErrorKind, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `BerthError(${kind})`;
    this.kind = kind;
    if (options.object) this.object = options.object;
  }
}

/** A reconcile error that must not be retried; the reconciler surfaces it on status. */
export class TerminalError extends BerthError {
  constructor(kind: ErrorKind, message: string, options: BerthErrorOptions = {}) {
    super(kind, message, options);
    this.name = `TerminalError(${kind})`;
  }
}

function make(kind: ErrorKind) {
  return (message: string, options?: BerthErrorOptions) => new BerthError(kind, message, options);
}

export const notFound = make("NotFound");
export const alreadyExists = make("AlreadyExists");
export const invalidArgument = make("InvalidArgument");
export const failedPrecondition = make("FailedPrecondition");
export const conflict = make("Conflict");
export const unavailable = make("Unavailable");
export const notImplemented = make("NotImplemented");
export const internal = make("Internal");

export function isBerthError(err: unknown, kind?: ErrorKind): err is BerthError {
  return err instanceof BerthError && (kind === undefined || err.kind === kind);
}

/** The kind of any thrown value: BerthErrors keep theirs, everything else is Internal. */
export function errorKind(err: unknown): ErrorKind {
  return err instanceof BerthError ? err.kind : "Internal";
}

/** Message of any thrown value, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Exit codes of the CLI, one per kind. 1 is kept for "the command ran and said no". */
export const exitCodeOfKind: Record<ErrorKind, number> = {
  InvalidArgument: 2,
  NotFound: 3,
  AlreadyExists: 4,
  Conflict: 4,
  FailedPrecondition: 5,
  Unavailable: 6,
  NotImplemented: 7,
  Internal: 10,
};

/** HTTP statuses of the API server, one per kind. */
export const httpStatusOfKind: Record<ErrorKind, number> = {
  InvalidArgument: 400,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  FailedPrecondition: 412,
  Unavailable: 503,
  NotImplemented: 501,
  Internal: 500,
};

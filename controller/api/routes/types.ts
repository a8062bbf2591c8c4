import type * as http from "node:http";
import type { SourcesApi } from "../../sources/types.js";
import type { Staging } from "../staging.js";
import type { ControllerApi } from "../types.js";

/** One request as the routes see it. */
export interface RouteContext {
  api: ControllerApi;
  method: string;
  url: URL;
  /**
   * The path's segments after `/v1` (at most three): `[resource, name?, sub?]`. The server
   * has checked the name segment is a DNS label before any route sees it.
   */
  segments: string[];
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  limits: {
    /** Largest JSON body (an apply); smaller bodies have their own, smaller limits. */
    maxBodyBytes: number;
    /** Largest image archive or rootfs upload. */
    maxUploadBytes: number;
  };
  staging: Staging;
  /** The GitOps sources, when the server has them (the daemon does). */
  sources?: SourcesApi;
}

/**
 * A group of routes: the handling of `ctx` when one of them matches it, else undefined (the
 * server then asks the next group, and answers NotFound after the last). Matching may throw
 * (a path naming no kind is NotFound).
 */
export type Route = (ctx: RouteContext) => Promise<void> | undefined;

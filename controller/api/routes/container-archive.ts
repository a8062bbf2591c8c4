import { invalidArgument } from "../../../lib/errors.js";
import { booleanParam, checkQuery, sendJson } from "../http-util.js";
import { CONTAINER_PATH_STAT_HEADER, TAR_CONTENT_TYPE, type ContainerPathStat, type ContainerArchivePutResponse } from "../protocol.js";
import type { Route, RouteContext } from "./types.js";

/**
 * `berth cp`'s routes, Docker's `/containers/{id}/archive` (protocol.ts's header):
 *   HEAD …/archive?path=P             the stat in the X-Docker-Container-Path-Stat header (base64 JSON)
 *   GET  …/archive?path=P&stat=true   the stat as the JSON body (and the header): errors keep their bodies
 *   GET  …/archive?path=P             the tar of P (the header first)
 *   PUT  …/archive?path=DIR[&copyUIDGID=true]   a tar body extracted into the directory DIR
 */
export const containerArchiveRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (resource !== "containers" || !name || sub !== "archive") return undefined;
  if (ctx.method === "HEAD" || ctx.method === "GET") return get(ctx, name);
  if (ctx.method === "PUT") return put(ctx, name);
  return undefined;
};

/** Names the upload `PUT /v1/containers/{name}/archive` (`segments` after `/v1`) for the server's checks. */
export function archiveUploadRouteOf(method: string, segments: string[]): string | undefined {
  return method === "PUT" && segments.length === 3 && segments[0] === "containers" && segments[2] === "archive" ? "copy to container" : undefined;
}

function pathParam(url: URL, what: string): string {
  const p = url.searchParams.get("path");
  if (p === null || p === "") throw invalidArgument(`${what}: the path query parameter is required`);
  if (p.includes("\0")) throw invalidArgument(`${what}: the path holds a NUL byte`);
  return p;
}

export function encodePathStat(stat: ContainerPathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString("base64");
}

async function get({ api, url, res, method, signal }: RouteContext, name: string) {
  const what = `copy from container ${name}`;
  checkQuery(url.searchParams, ["path", "stat"], what);
  const path = pathParam(url, what);
  if (method === "HEAD" || booleanParam(url.searchParams, "stat", what)) {
    const stat = await api.statContainerPath(name, path);
    res.setHeader(CONTAINER_PATH_STAT_HEADER, encodePathStat(stat));
    if (method === "HEAD") {
      res.writeHead(200, { "cache-control": "no-store" }).end();
      return;
    }
    sendJson(res, 200, stat);
    return;
  }
  await api.archiveContainerPath(name, path, res, signal, (stat) => {
    res.setHeader(CONTAINER_PATH_STAT_HEADER, encodePathStat(stat));
    res.setHeader("content-type", TAR_CONTENT_TYPE);
    res.setHeader("cache-control", "no-store");
  });
}

async function put({ api, url, req, res }: RouteContext, name: string) {
  const what = `copy to container ${name}`;
  checkQuery(url.searchParams, ["path", "copyUIDGID", "noOverwriteDirNonDir"], what);
  const path = pathParam(url, what);
  const copyUIDGID = booleanParam(url.searchParams, "copyUIDGID", what) ?? false;
  // Docker's noOverwriteDirNonDir=false is not offered: berth never replaces a directory with a non-directory or the reverse.
  if (url.searchParams.get("noOverwriteDirNonDir") === "false") throw invalidArgument(`${what}: noOverwriteDirNonDir=false is not supported`);
  const entries = await api.extractToContainer(name, path, req, { copyUIDGID });
  sendJson(res, 200, { entries } satisfies ContainerArchivePutResponse);
}

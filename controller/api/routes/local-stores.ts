import { notFound, notImplemented } from "../../../lib/errors.js";
import { booleanParam, checkQuery, sendJson } from "../http-util.js";
import type { NetworkStoreList, VolumeStoreList } from "../protocol.js";
import type { ControllerApi } from "../types.js";
import type { Route, RouteContext } from "./types.js";

/**
 * `/v1/volume-store[/{name}]` and `/v1/network-store[/{name}]` (protocol.ts lists them):
 * volumes and networks as `docker volume|network` see them, over ../local-stores.ts. Every
 * path under them is their own: one they do not serve is NotFound here.
 */
export const localStoreRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if ((resource !== "volume-store" && resource !== "network-store") || sub !== undefined) return undefined;
  return resource === "volume-store" ? volumes(ctx, name) : networks(ctx, name);
};

function need<K extends "listVolumeStore" | "removeVolume" | "listNetworkStore" | "removeNetwork">(api: ControllerApi, method: K, what: string): NonNullable<ControllerApi[K]> {
  const f = api[method];
  if (!f) throw notImplemented(`${what}: this daemon does not serve it`);
  return f.bind(api) as NonNullable<ControllerApi[K]>;
}

async function volumes({ api, method, url, res }: RouteContext, name: string | undefined) {
  const q = url.searchParams;
  if (name === undefined && method === "GET") {
    checkQuery(q, [], "list volumes");
    const items = await need(api, "listVolumeStore", "list volumes")();
    return sendJson(res, 200, { items } satisfies VolumeStoreList);
  }
  if (name !== undefined && method === "DELETE") {
    checkQuery(q, ["force"], `remove volume ${name}`);
    const force = booleanParam(q, "force", `remove volume ${name}`);
    return sendJson(res, 200, await need(api, "removeVolume", `remove volume ${name}`)(name, { force }));
  }
  throw notFound(`route ${method} ${url.pathname}: not found`);
}

async function networks({ api, method, url, res }: RouteContext, name: string | undefined) {
  const q = url.searchParams;
  if (name === undefined && method === "GET") {
    checkQuery(q, [], "list networks");
    const items = await need(api, "listNetworkStore", "list networks")();
    return sendJson(res, 200, { items } satisfies NetworkStoreList);
  }
  if (name !== undefined && method === "DELETE") {
    checkQuery(q, [], `remove network ${name}`);
    return sendJson(res, 200, await need(api, "removeNetwork", `remove network ${name}`)(name));
  }
  throw notFound(`route ${method} ${url.pathname}: not found`);
}

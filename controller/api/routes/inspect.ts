import { invalidArgument, notImplemented } from "../../../lib/errors.js";
import { splitPsArgs } from "../../../runtime/containers/top.js";
import { checkQuery, sendJson } from "../http-util.js";
import type { Route, RouteContext } from "./types.js";

/** Largest `psArgs` query value (the runtime bounds the words too). */
const MAX_PS_ARGS_CHARS = 2048;

/** `GET /v1/containers/{name}/top[?psArgs=..]` and `GET /v1/containers/{name}/inspect`. */
export const inspectRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (resource !== "containers" || !name || ctx.method !== "GET") return undefined;
  if (sub === "top") return top(ctx, name);
  if (sub === "inspect") return inspect(ctx, name);
  return undefined;
};

async function top({ api, url, res }: RouteContext, name: string) {
  checkQuery(url.searchParams, ["psArgs"], "top");
  if (!api.top) throw notImplemented(`top container ${name}: not supported by this daemon`);
  const raw = url.searchParams.get("psArgs");
  if (raw !== null && raw.length > MAX_PS_ARGS_CHARS) throw invalidArgument(`top: psArgs longer than ${MAX_PS_ARGS_CHARS} characters`);
  const args = raw === null ? undefined : splitPsArgs(raw);
  sendJson(res, 200, await api.top(name, args && args.length ? args : undefined));
}

async function inspect({ api, url, res }: RouteContext, name: string) {
  checkQuery(url.searchParams, [], "inspect");
  if (!api.inspect) throw notImplemented(`inspect container ${name}: not supported by this daemon`);
  sendJson(res, 200, await api.inspect(name));
}

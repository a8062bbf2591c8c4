import { checkQuery, readJson, sendJson } from "../http-util.js";
import { parseBody } from "../bodies.js";
import type { Route } from "./types.js";

/** Largest login body (the schema bounds its fields). */
const MAX_LOGIN_BODY = 64 * 1024;

/**
 * `POST /v1/registry/{login|logout}`: registry credentials, which the daemon checks and
 * stores (berth's credentials file, 0600). The request body carries the password; nothing
 * here logs a body.
 */
export const registryRoutes: Route = (ctx) => {
  const [resource, op, sub] = ctx.segments;
  if (resource !== "registry" || sub !== undefined || ctx.method !== "POST") return undefined;
  if (op === "login") {
    return (async () => {
      checkQuery(ctx.url.searchParams, [], "login");
      const body = await parseBody("RegistryLoginRequest", await readJson(ctx.req, MAX_LOGIN_BODY), "login");
      sendJson(ctx.res, 200, await ctx.api.login(body, ctx.signal));
    })();
  }
  if (op === "logout") {
    return (async () => {
      checkQuery(ctx.url.searchParams, [], "logout");
      const body = await parseBody("RegistryLogoutRequest", await readJson(ctx.req, MAX_LOGIN_BODY), "logout");
      sendJson(ctx.res, 200, await ctx.api.logout(body));
    })();
  }
  return undefined;
};

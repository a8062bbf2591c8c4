import { notImplemented } from "../../../lib/errors.js";
import type { SourcesApi } from "../../sources/types.js";
import { parseBody } from "../bodies.js";
import { readJson, sendJson } from "../http-util.js";
import type { SourceList } from "../protocol.js";
import type { Route, RouteContext } from "./types.js";

/**
 * GitOps sources (protocol.ts): `GET|POST /v1/sources`, `GET|DELETE /v1/sources/{stack}`,
 * `POST /v1/sources/{stack}/sync`, `GET /v1/sources/{stack}/plan`. Before the object routes,
 * which would take `/v1/sources` for a kind.
 */
export const sourceRoutes: Route = (ctx) => {
  const { method, segments } = ctx;
  const [resource, stack, sub] = segments;
  if (resource !== "sources") return undefined;
  if (stack === undefined) {
    if (method === "GET") return sourcesOf(ctx).list().then((items) => sendJson(ctx.res, 200, { items } satisfies SourceList));
    if (method === "POST") return register(ctx);
    return undefined;
  }
  if (sub === undefined) {
    if (method === "GET") return sourcesOf(ctx).get(stack).then((v) => sendJson(ctx.res, 200, v));
    if (method === "DELETE") {
      const keep = ctx.url.searchParams.get("keep") === "true";
      return sourcesOf(ctx).unregister(stack, { keep }, ctx.signal).then((r) => sendJson(ctx.res, 200, r));
    }
    return undefined;
  }
  if (sub === "sync" && method === "POST") return sync(ctx, stack);
  if (sub === "plan" && method === "GET") return sourcesOf(ctx).plan(stack, ctx.signal).then((r) => sendJson(ctx.res, 200, r));
  return undefined;
};

async function register(ctx: RouteContext) {
  const body = await parseBody("SourceRegisterRequest", await readJson(ctx.req, ctx.limits.maxBodyBytes), "watch");
  sendJson(ctx.res, 200, await sourcesOf(ctx).register(body, ctx.signal));
}

/** The body is `{}` (nothing to say yet); it is read so that the request is complete before the answer. */
async function sync(ctx: RouteContext, stack: string) {
  await readJson(ctx.req, 1024);
  sendJson(ctx.res, 200, await sourcesOf(ctx).sync(stack, ctx.signal));
}

function sourcesOf(ctx: RouteContext): SourcesApi {
  if (!ctx.sources) throw notImplemented("sources: this server does not watch sources");
  return ctx.sources;
}

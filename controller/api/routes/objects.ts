import { invalidArgument, notFound } from "../../../lib/errors.js";
import { resolveKind, type Kind } from "../../../schemas/kinds.js";
import { parseBody } from "../bodies.js";
import { readJson, sendJson } from "../http-util.js";
import type { ObjectList } from "../protocol.js";
import type { Route, RouteContext } from "./types.js";

/**
 * `POST /v1/apply`, and the objects of every kind: `GET /v1/{plural}[?selector=]`,
 * `GET|DELETE /v1/{plural}/{name}`. Last among the routes: any `/v1/{word}[/{name}]` is
 * taken for a kind (NotFound when it names none).
 */
export const objectRoutes: Route = (ctx) => {
  const { method, segments } = ctx;
  const [resource, name, sub] = segments;
  if (resource === "apply" && segments.length === 1 && method === "POST") return apply(ctx);
  if (resource !== undefined && sub === undefined) {
    const kind = kindOf(resource);
    if (name === undefined && method === "GET") return list(ctx, kind);
    if (name !== undefined && method === "GET") return ctx.api.get(kind, name).then((v) => sendJson(ctx.res, 200, v));
    if (name !== undefined && method === "DELETE") return ctx.api.delete(kind, name).then((c) => sendJson(ctx.res, 200, c));
  }
  return undefined;
};

async function apply({ api, req, res, signal, limits }: RouteContext) {
  const body = await parseBody("ApplyRequest", await readJson(req, limits.maxBodyBytes), "apply");
  sendJson(res, 200, await api.apply(body, signal));
}

async function list({ api, url, res }: RouteContext, kind: Kind) {
  const items = await api.list(kind, parseSelector(url.searchParams.get("selector")));
  sendJson(res, 200, { items } satisfies ObjectList);
}

function kindOf(word: string): Kind {
  const kind = resolveKind(word);
  if (!kind) throw notFound(`route /v1/${word}: no such kind`);
  return kind;
}

/** `k=v[,k=v]` (equality only). */
export function parseSelector(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw invalidArgument(`parse selector ${JSON.stringify(text)}: expected key=value[,key=value]`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

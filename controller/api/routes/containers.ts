import { invalidArgument } from "../../../lib/errors.js";
import { parseBody } from "../bodies.js";
import { readJson, sendJson, streamNdjson } from "../http-util.js";
import type { Route, RouteContext } from "./types.js";

/** Largest exec request body. */
const MAX_EXEC_BODY = 1024 * 1024;
const ACTIONS = ["stop", "start", "restart"] as const;
const isAction = (s: string): s is (typeof ACTIONS)[number] => (ACTIONS as readonly string[]).includes(s);

/** What only containers have: `GET …/logs`, `POST …/exec`, `POST …/{stop|start|restart}` under `/v1/containers/{name}`. */
export const containerRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (resource !== "containers" || !name || !sub) return undefined;
  if (sub === "logs" && ctx.method === "GET") return logs(ctx, name);
  if (sub === "exec" && ctx.method === "POST") return exec(ctx, name);
  if (isAction(sub) && ctx.method === "POST") return ctx.api.act(name, sub, ctx.signal).then((v) => sendJson(ctx.res, 200, v));
  return undefined;
};

/** `?follow=true&tail=N&since=ms`: NDJSON LogLines; with follow, until the client goes away. */
async function logs({ api, url, res, signal }: RouteContext, name: string) {
  const tail = url.searchParams.get("tail");
  const since = url.searchParams.get("since");
  if (tail !== null && !/^[0-9]+$/.test(tail)) throw invalidArgument(`logs: tail must be a whole number, got ${JSON.stringify(tail)}`);
  if (since !== null && !/^[0-9]+$/.test(since)) throw invalidArgument(`logs: since must be epoch milliseconds, got ${JSON.stringify(since)}`);
  const items = api.logs(name, {
    follow: url.searchParams.get("follow") === "true",
    ...(tail !== null ? { tail: Number(tail) } : {}),
    ...(since !== null ? { since: Number(since) } : {}),
    signal,
  });
  return streamNdjson(res, items, signal);
}

async function exec({ api, req, res, signal }: RouteContext, name: string) {
  const body = await parseBody("ExecRequest", await readJson(req, MAX_EXEC_BODY), "exec");
  sendJson(res, 200, await api.exec(name, body, signal));
}

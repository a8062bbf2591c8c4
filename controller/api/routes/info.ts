import { notImplemented } from "../../../lib/errors.js";
import { booleanParam, checkQuery, sendJson } from "../http-util.js";
import type { Route } from "./types.js";

/** `GET /v1/info[?usage=false]` (`docker info`). */
export const infoRoutes: Route = ({ api, method, segments, url, res }) => {
  if (segments[0] !== "info" || segments.length !== 1 || method !== "GET") return undefined;
  return (async () => {
    checkQuery(url.searchParams, ["usage"], "info");
    if (!api.systemInfo) throw notImplemented("info: not supported by this daemon");
    const usage = url.searchParams.has("usage") ? booleanParam(url.searchParams, "usage", "info") : true;
    sendJson(res, 200, await api.systemInfo({ usage }));
  })();
};

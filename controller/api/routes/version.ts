import { sendJson } from "../http-util.js";
import type { Route } from "./types.js";

/** `GET /v1/version`. */
export const versionRoutes: Route = ({ api, method, segments, res }) => {
  if (segments[0] === "version" && segments.length === 1 && method === "GET") return Promise.resolve(sendJson(res, 200, api.version()));
  return undefined;
};

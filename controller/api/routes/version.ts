import * as os from "node:os";
import { sendJson } from "../http-util.js";
import type { Route } from "./types.js";

/**
 * `GET /v1/version`: the daemon's version and where it runs, with the API version, Node's,
 * the OS, and the runc and conmon it uses (their `--version`, asked at each call).
 */
export const versionRoutes: Route = ({ api, method, segments, res }) => {
  if (segments[0] === "version" && segments.length === 1 && method === "GET") {
    return (async () => {
      const components = api.componentVersions ? await api.componentVersions().catch(() => ({})) : {};
      sendJson(res, 200, { ...api.version(), apiVersion: "v1", nodeVersion: process.version, os: os.platform(), arch: os.arch(), kernel: os.release(), ...components });
    })();
  }
  return undefined;
};

import { sendJson, streamNdjson } from "../http-util.js";
import type { EventList, EventRecord } from "../protocol.js";
import type { Route } from "./types.js";

/** `GET /v1/events`: the history as `{ items }`; with `watch=true`, it and then new events as NDJSON until the client goes away. */
export const eventRoutes: Route = ({ api, method, segments, url, res, signal }) => {
  if (segments[0] !== "events" || segments.length !== 1 || method !== "GET") return undefined;
  if (url.searchParams.get("watch") === "true") return streamNdjson(res, api.events({ watch: true, signal }), signal);
  return (async () => {
    const items: EventRecord[] = [];
    for await (const e of api.events({ watch: false, signal })) items.push(e);
    sendJson(res, 200, { items } satisfies EventList);
  })();
};

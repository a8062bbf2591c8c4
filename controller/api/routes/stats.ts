import type * as http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { invalidArgument, notImplemented } from "../../../lib/errors.js";
import { computeStats } from "../../../runtime/containers/stats.js";
import type { ContainerStatsReading } from "../../../runtime/types.js";
import { booleanParam, checkQuery, sendJson } from "../http-util.js";
import type { ContainerStats, ContainerStatsFrame } from "../protocol.js";
import type { ControllerApi } from "../types.js";
import type { Route, RouteContext } from "./types.js";

/**
 * `GET /v1/stats[?name=N..][&stream=true][&all=true][&count=N][&intervalMs=N]` and `GET
 * /v1/containers/{name}/stats[?stream=true]` (protocol.ts). Each frame holds the figures
 * over the interval before it (CPU % needs two readings), so even a single answer takes one
 * interval. A stream keeps the previous reading of each container and nothing else: the next
 * reading is taken only once the client has taken the last frame (never a queue), and it
 * ends after `count` frames or when the client goes away (`signal`).
 */

const DEFAULT_INTERVAL_MS = 1000;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 60_000;
const MAX_NAMES = 256;

export const statsRoutes: Route = (ctx) => {
  const [resource, name, sub] = ctx.segments;
  if (ctx.method !== "GET") return undefined;
  if (resource === "stats" && ctx.segments.length === 1) return stats(ctx, ctx.url.searchParams.getAll("name"), false);
  if (resource === "containers" && name && sub === "stats") return stats(ctx, [name], true);
  return undefined;
};

function intParam(q: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw invalidArgument(`stats: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function stats({ api, url, res, signal }: RouteContext, names: string[], single: boolean) {
  const q = url.searchParams;
  checkQuery(q, single ? ["stream", "count", "intervalMs"] : ["name", "stream", "all", "count", "intervalMs"], "stats");
  if (!api.statsReadings || !api.statsTargets) throw notImplemented("stats: not supported by this daemon");
  if (names.length > MAX_NAMES) throw invalidArgument(`stats: at most ${MAX_NAMES} names`);
  const stream = booleanParam(q, "stream", "stats");
  const all = !single && booleanParam(q, "all", "stats");
  const count = intParam(q, "count", 1, 1_000_000_000) ?? (stream ? Infinity : 1);
  const intervalMs = intParam(q, "intervalMs", MIN_INTERVAL_MS, MAX_INTERVAL_MS) ?? DEFAULT_INTERVAL_MS;
  // Checked before the first reading: an unknown name is an ordinary NotFound answer.
  await api.statsTargets(names, all);
  const frames = frameLoop(api, names, all, intervalMs, signal);
  if (!stream) {
    const first = (await frames.next()).value as ContainerStatsFrame;
    await frames.return(undefined);
    sendJson(res, 200, single ? first.items[0] : first);
    return;
  }
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  let sent = 0;
  try {
    for await (const frame of frames) {
      if (signal.aborted) break;
      const line = JSON.stringify(single ? frame.items[0] : frame) + "\n";
      if (!res.write(line)) await drainedOrGone(res, signal);
      if (++sent >= count) break;
    }
  } finally {
    await frames.return(undefined);
  }
  res.end();
}

/** Frames of figures, each `intervalMs` after the reading before it; the targets found again each frame when no names were given. */
async function* frameLoop(api: ControllerApi, names: string[], all: boolean, intervalMs: number, signal: AbortSignal): AsyncGenerator<ContainerStatsFrame> {
  const prev = new Map<string, ContainerStatsReading>();
  const read = async () => {
    const targets = await api.statsTargets!(names, all);
    return api.statsReadings!(targets);
  };
  for (const r of await read()) if (r.reading) prev.set(r.name, r.reading);
  for (;;) {
    await sleep(intervalMs, undefined, { signal });
    const readings = await read();
    const items: ContainerStats[] = readings.map((r) => {
      if (!r.reading) return { name: r.name, read: new Date().toISOString(), running: false, ...(r.error ? { error: r.error } : {}) };
      const f = computeStats(prev.get(r.name), r.reading);
      const item: ContainerStats = { name: r.name, id: r.reading.id, read: new Date(r.reading.readAtMs).toISOString(), running: true, cgroupVersion: r.reading.cgroupVersion, cpuPercent: f.cpuPercent };
      if (f.memory && r.reading.memory) item.memory = { ...f.memory, limited: r.reading.memory.limited };
      if (f.network) item.network = f.network;
      if (f.blockIo) item.blockIo = f.blockIo;
      if (f.pids) item.pids = f.pids;
      return item;
    });
    prev.clear();
    for (const r of readings) if (r.reading) prev.set(r.name, r.reading);
    yield { read: new Date().toISOString(), items };
  }
}

function drainedOrGone(res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

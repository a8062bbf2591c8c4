/**
 * The network driver's persisted state (`<root>/networks/state.json`): networks' metadata,
 * attachments and published ports. Addresses live in the address manager's own file
 * (ipam.ts), written first: an address without an attachment (a crash between the two) is
 * released when the driver opens; an attachment without its address is allocated again.
 * Written atomically; an unreadable file is moved aside and the state starts empty (the
 * controller connects its containers again, getting the same addresses back).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../../lib/atomic-file.js";
import { errorMessage } from "../../lib/errors.js";
import type { PortMappingSpec, PublishedPort } from "../types.js";

export interface NetworkMeta {
  bridge: string;
  internal: boolean;
  labels: Record<string, string>;
  createdAt: string;
}

export interface AttachmentMeta {
  ifname: string;
  hostIfname: string;
  netns: string;
  names: string[];
  /** Upstream resolvers for this container's other names (its dns setting); absent: the host's. */
  upstreams?: string[];
}

export interface DriverDoc {
  version: 1;
  networks: Record<string, NetworkMeta>;
  /** network → container id → attachment. */
  attachments: Record<string, Record<string, AttachmentMeta>>;
  /** container id → what was asked, and what is published (host ports chosen). */
  ports: Record<string, { requested: PortMappingSpec[]; published: PublishedPort[] }>;
}

export const emptyDoc = (): DriverDoc => ({ version: 1, networks: {}, attachments: {}, ports: {} });

export async function readDriverDoc(file: string): Promise<{ doc: DriverDoc; quarantined?: string; problem?: string }> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { doc: emptyDoc() };
    throw err;
  }
  try {
    const doc = JSON.parse(text) as DriverDoc;
    const isMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (doc?.version !== 1 || !isMap(doc.networks) || !isMap(doc.attachments) || !isMap(doc.ports)) throw new Error("not a network state document of version 1");
    for (const [name, n] of Object.entries(doc.networks)) {
      if (typeof n?.bridge !== "string" || typeof n.internal !== "boolean" || !isMap(n.labels)) throw new Error(`network ${name}: bad entry`);
    }
    for (const [net, byId] of Object.entries(doc.attachments)) {
      if (!isMap(byId)) throw new Error(`attachments of ${net}: bad entry`);
      for (const [id, a] of Object.entries(byId)) {
        if (typeof a?.hostIfname !== "string" || typeof a.ifname !== "string" || !Array.isArray(a.names)) throw new Error(`attachment ${net}/${id}: bad entry`);
      }
    }
    for (const [id, p] of Object.entries(doc.ports)) {
      if (!Array.isArray(p?.requested) || !Array.isArray(p.published)) throw new Error(`ports of ${id}: bad entry`);
    }
    return { doc };
  } catch (err) {
    const quarantined = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await fs.rename(file, quarantined);
    return { doc: emptyDoc(), quarantined, problem: errorMessage(err) };
  }
}

export async function writeDriverDoc(file: string, doc: DriverDoc): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeJsonAtomic(file, doc, { mode: 0o600 });
}

/** Records of the desired store: stored objects and the ChangeSet an apply returns. */
import type { Kind } from "../../schemas/index.js";
import type { AnyObject } from "../manifests/model.js";

/** One desired object as the store keeps it. */
export interface StoredObject {
  /** `container/web` (objectKey). */
  key: string;
  kind: Kind;
  name: string;
  /** The stack that applied it; prune only touches objects of that stack. */
  stack: string;
  /** 1 when created, +1 on every change of metadata or spec. */
  generation: number;
  /** The normalized object. */
  object: AnyObject;
  /** ISO times of the first apply and of the last change. */
  createdAt: string;
  updatedAt: string;
}

export type ChangeAction = "created" | "configured" | "unchanged" | "deleted";

/** One line of a ChangeSet: `container/web configured` (Flux `ssa.ChangeSetEntry`). */
export interface ChangeSetEntry {
  key: string;
  kind: Kind;
  name: string;
  stack: string;
  action: ChangeAction;
  /** The generation after the change (of the removed object for `deleted`). */
  generation: number;
}

export interface ChangeSet {
  entries: ChangeSetEntry[];
  /** True when nothing was written (a dry run). */
  dryRun: boolean;
}

/** What a committed write changed, object by object; `before`/`after` absent for a create/delete. */
export interface StoreChange {
  key: string;
  before?: StoredObject;
  after?: StoredObject;
}

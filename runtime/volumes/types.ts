import type { VolumeStore } from "../types.js";

/**
 * The local volume store's operations beyond runtime/types.ts VolumeStore, used by the
 * container runtime to track which containers use a volume.
 */
export interface LocalVolumeStore extends VolumeStore {
  /**
   * Records `containerId` as a user of volume `name`, creating the volume (default
   * options) when it does not exist. Idempotent per (name, containerId).
   */
  acquire(name: string, containerId: string): Promise<void>;
  /** Drops `containerId` as a user. Idempotent. */
  release(name: string, containerId: string): Promise<void>;
  /** Host path of the volume's data, mounting a tmpfs-backed volume if needed. NotFound when absent. */
  use(name: string): Promise<string>;
  /** Container ids using the volume. */
  users(name: string): Promise<string[]>;
}

export interface VolumeStoreOptions {
  /** berth's state directory: volumes live in `<root>/volumes/<name>/_data`. */
  root: string;
}

import type { Clock } from "../../lib/clock.js";
import type { ContainerRuntime, ImageRecord, ImageStore, VolumeStore } from "../types.js";

/**
 * What a conformance suite needs from an implementation under test. One harness per test
 * (`open` runs in beforeEach); a harness may share expensive state (an imported image)
 * across tests as long as `cleanup` leaves nothing of the test behind.
 */
export interface SuiteHarness {
  /** The runtime under test; `reopen` and `reboot` replace it, so always read it from here. */
  readonly runtime: ContainerRuntime;
  /** The clock the runtime measures time with: a ManualClock for a fake, the system clock for the real one. */
  readonly clock: Clock;
  /** A reference that resolves to a busybox image (with `sh`, `sleep`, `printf`). */
  readonly image: string;
  /** The volume store the runtime's named volumes live in, when the suite may use one. */
  readonly volumes?: VolumeStore;
  /** Lets `ms` of the runtime's time pass: advances a manual clock, sleeps for real. */
  pass(ms: number): Promise<void>;
  /**
   * Closes the runtime, runs `whileClosed` (if given) while no instance runs, and opens a
   * new instance on the same state (adoption). Optional.
   */
  reopen?(whileClosed?: () => Promise<void>): Promise<void>;
  /** A reboot: every process and the run-root are gone; a new instance opens. Optional. */
  reboot?(): Promise<void>;
  /** Runs after the suite removed its containers: frees whatever else the test made. */
  cleanup(): Promise<void>;
}

/** An image store under test, with a way to make rootfs tarballs and to pin images. */
export interface ImageSuiteHarness {
  readonly images: ImageStore;
  /** A temp directory the test may write files (tarballs, archives) into; removed by cleanup. */
  readonly dir: string;
  /** A gzip rootfs tarball: different `variant`s give different content. */
  rootfsTarball(variant?: string): Promise<Buffer>;
  /** Makes a container use `image` (a container layer over its chain), as a container would. Optional. */
  holdImage?(image: ImageRecord): Promise<void>;
  cleanup(): Promise<void>;
}

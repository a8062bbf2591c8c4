/** The build benchmark's environment and results (what report.ts prints and returns). */
import type { PrivateDockerd } from "../../test/helpers/dockerd.js";
import type { Summary } from "../stats.js";
import type { BuildBenchOptions } from "./options.js";

export interface BuildBenchEnv {
  base: string;
  /** tmpfs, like /run: berth's run-roots. */
  run: string;
  rootfsDir: string;
  rootfsTgz: string;
  /** Parent cgroup of every berth container of the suite (removed at the end). */
  cgroupParent: string;
  /** Every URL berth's registry client connected to (all loopback, or the guard refused). */
  seen: URL[];
  options: BuildBenchOptions;
  dockerd?: PrivateDockerd;
}

export type Unavailable = { available: false; reason: string };

export interface PullResult {
  reference: string;
  layers: number;
  compressedBytes: number;
  uncompressedBytes: number;
  pushedDigest: string;
  rounds: number;
  berth: Summary & { downloadMedianMs: number | null; unpackMedianMs: number | null };
  skopeo: Unavailable | { available: true; version: string; copy: Summary; untarMedianMs: number | null; copyPlusUntar: Summary };
  ratioToSkopeo: number | null;
  ratioToSkopeoPlusUntar: number | null;
}

export interface BuildSide {
  version: string;
  /** Which builder did the work (Docker: classic or BuildKit). */
  builder: string;
  cold: Summary;
  warm: Summary;
  /** Steps reported CACHED in the last unchanged rebuild, of all steps with a cache key. */
  warmCached: string;
  layers: number;
}

export interface BuildResult {
  context: { files: number; bytes: number };
  berth: BuildSide & {
    /** Unchanged rebuilds by `berth image build` (a CLI process) against a running `berth daemon`: what users run, as `docker build` against dockerd. */
    cli: Summary;
    /** Unchanged rebuilds each in a fresh node process with no daemon: open the runtime, build, close. */
    process: Summary & { inChildOpenMs: number | null; inChildBuildMs: number | null };
  };
  /** `docker build`, classic builder: the goals' reference. */
  docker: (BuildSide & { available: true }) | Unavailable;
  /** `docker build` with BuildKit (DOCKER_BUILDKIT=1), for comparison. */
  buildkit: (BuildSide & { available: true }) | Unavailable;
  ratios: { cold: number | null; warm: number | null; warmCli: number | null; warmProcess: number | null; coldBuildkit: number | null; warmBuildkit: number | null; warmCliBuildkit: number | null; warmProcessBuildkit: number | null };
}

export interface UnpackStage {
  name: string;
  medianMs: number | null;
  note: string;
}

export interface UnpackProfile {
  entries: number;
  uncompressedBytes: number;
  stages: UnpackStage[];
  whiteouts: { count: number; berthMs: number | null; perWhiteoutMs: number | null; tarMs: number | null };
}

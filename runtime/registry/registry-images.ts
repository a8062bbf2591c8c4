import * as path from "node:path";
import { promises as fs } from "node:fs";
import pino, { type Logger } from "pino";
import { systemClock, type Clock } from "../../lib/clock.js";
import { failedPrecondition, invalidArgument } from "../../lib/errors.js";
import { KeyedLock } from "../content/async-lock.js";
import type { FsContentStore } from "../content/content-store.js";
import type { FsImageStore } from "../images/image-store.js";
import type { SnapshotStore } from "../types.js";
import { RegistryAuth } from "./auth.js";
import { removeStalePartials, type BlobFetchContext } from "./blob-fetch.js";
import { BlobSources } from "./blob-sources.js";
import { RegistryClient, type Endpoint } from "./client.js";
import { credentialKey, lookupCredential, removeCredential, storeCredential, type Credential, type CredentialFiles } from "./credentials.js";
import { apiHostOf } from "./hosts.js";
import { defaultHttpOptions, RegistryHttp } from "./http.js";
import { parseRepository, pullEndpoints, pullImage, type PullContext } from "./pull.js";
import { pushImage, type PushContext } from "./push.js";
import { allowsHttp, readRegistrySettings, type RegistrySettings } from "./settings.js";
import type { LoginOptions, PullOptions, PullResult, PushOptions, PushResult, RegistryService } from "./types.js";

export interface RegistryImagesOptions {
  /** State root: partial downloads under `<root>/registry/partial`, blob sources in `<root>/registry`. */
  root: string;
  content: FsContentStore;
  images: FsImageStore;
  /** When given, a pull unpacks the layers before it commits the image. */
  snapshots?: Pick<SnapshotStore, "unpackChain" | "warmUnpacker">;
  /** berth's daemon settings file (registryMirrors, mirrors, insecureRegistries); absent = defaults. */
  settingsFile?: string;
  /** Settings given directly (tests, embedders); wins over `settingsFile`. */
  settings?: RegistrySettings;
  /** The daemon user's Docker client config, e.g. `/root/.docker/config.json` (read only). */
  dockerConfigFile?: string;
  /** berth's credentials file (written by login, 0600). Without it login is refused. */
  credentialsFile?: string;
  /** Token realm hosts trusted for any registry besides the registrable-domain rule. */
  allowRealmHosts: string[];
  /** Blobs fetched or pushed at once. */
  concurrency: number;
  /** Resumed attempts of a blob download within one pull after a lost connection. */
  retries: number;
  retryDelayMs: number;
  maxManifestBytes: number;
  maxConfigBytes: number;
  maxTokenBytes: number;
  /** Default: the image store's cap on one blob. */
  maxBlobBytes?: number;
  maxRedirects: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxTagPages: number;
  maxTags: number;
  /** Partial downloads untouched this long are removed at open. */
  partialMaxAgeMs: number;
  /** Injected fetch (default the global one). */
  fetch?: typeof fetch;
  /** Sees every URL before it is connected to; throws to refuse (tests: loopback only). */
  guard?: (url: URL) => void;
  clock?: Clock;
  logger?: Logger;
}

export function defaultRegistryImagesOptions(): Omit<RegistryImagesOptions, "root" | "content" | "images"> {
  return {
    allowRealmHosts: [],
    concurrency: 3,
    retries: 2,
    retryDelayMs: 500,
    maxManifestBytes: 4 * 1024 * 1024,
    maxConfigBytes: 1024 * 1024,
    maxTokenBytes: 1024 * 1024,
    maxRedirects: 10,
    headersTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    maxTagPages: 100,
    maxTags: 10_000,
    partialMaxAgeMs: 7 * 24 * 3600 * 1000,
  };
}

/** Reads the settings, prepares `<root>/registry`, removes stale partial downloads. */
export async function openRegistryImages(
  options: Partial<RegistryImagesOptions> & Pick<RegistryImagesOptions, "root" | "content" | "images">,
): Promise<RegistryImages> {
  const opts: RegistryImagesOptions = { ...defaultRegistryImagesOptions(), ...options };
  const settings = opts.settings ?? (await readRegistrySettings(opts.settingsFile));
  const dir = path.join(opts.root, "registry");
  await fs.mkdir(path.join(dir, "partial"), { recursive: true, mode: 0o700 });
  const clock = opts.clock ?? systemClock;
  await removeStalePartials(path.join(dir, "partial"), clock.now(), opts.partialMaxAgeMs);
  return new RegistryImages(opts, settings, dir);
}

/**
 * berth's registry service (RegistryService, runtime/registry/types.ts) over the local
 * stores. A service beside FsImageStore rather than methods of the ImageStore interface: the
 * image store is local state with one conformance suite for the real store and the fake;
 * pulling adds the network, credentials, mirrors and resumable downloads, which a Docker
 * Engine driver would do its own way. FsImageStore gained only what a pull or push needs of
 * it: `commitProduced` (commit candidates whose blobs the producer pinned) and `pushSource`.
 *
 * Concurrency: pulls and pushes may run in parallel; fetches of one blob are serialized in
 * this process, so two pulls sharing a layer download it once. One process owns a root.
 */
export class RegistryImages implements RegistryService {
  readonly settings: RegistrySettings;
  readonly auth: RegistryAuth;
  private readonly http: RegistryHttp;
  private readonly client: RegistryClient;
  private readonly files: CredentialFiles;
  private readonly pullCtx: PullContext;
  private readonly pushCtx: PushContext;
  private readonly log: Logger;

  constructor(
    private readonly opts: RegistryImagesOptions,
    settings: RegistrySettings,
    dir: string,
  ) {
    this.settings = settings;
    this.log = opts.logger ?? pino({ level: "silent" });
    const clock = opts.clock ?? systemClock;
    const httpOk = (hostPort: string) => allowsHttp(settings, hostPort);
    this.http = new RegistryHttp({
      ...defaultHttpOptions(),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.guard ? { guard: opts.guard } : {}),
      allowsHttp: httpOk,
      maxRedirects: opts.maxRedirects,
      headersTimeoutMs: opts.headersTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
    this.files = {
      ...(opts.credentialsFile ? { credentialsFile: opts.credentialsFile } : {}),
      ...(opts.dockerConfigFile ? { dockerConfigFile: opts.dockerConfigFile } : {}),
    };
    this.auth = this.makeAuth((host) => lookupCredential(this.files, host));
    this.client = this.makeClient(this.auth);
    const sources = new BlobSources(dir);
    const fetchCtx: BlobFetchContext = {
      client: this.client,
      content: opts.content,
      partialDir: path.join(dir, "partial"),
      retries: opts.retries,
      retryDelayMs: opts.retryDelayMs,
      clock,
      logger: this.log,
    };
    this.pullCtx = {
      client: this.client,
      settings,
      content: opts.content,
      images: opts.images,
      ...(opts.snapshots ? { snapshots: opts.snapshots } : {}),
      sources,
      fetch: fetchCtx,
      blobLocks: new KeyedLock(),
      concurrency: opts.concurrency,
      maxManifestBytes: opts.maxManifestBytes,
      maxConfigBytes: opts.maxConfigBytes,
      maxBlobBytes: opts.maxBlobBytes ?? opts.images.limits.maxBlobBytes,
      clock,
      logger: this.log,
    };
    this.pushCtx = { client: this.client, content: opts.content, images: opts.images, sources, concurrency: opts.concurrency, logger: this.log };
  }

  private makeAuth(credential: (host: string) => Promise<Credential | undefined>): RegistryAuth {
    return new RegistryAuth({
      http: this.http,
      policy: { allowRealmHosts: this.opts.allowRealmHosts.map((h) => h.toLowerCase()), allowsHttp: (h) => allowsHttp(this.settings, h) },
      clock: this.opts.clock ?? systemClock,
      maxTokenBytes: this.opts.maxTokenBytes,
      credential,
    });
  }

  private makeClient(auth: RegistryAuth): RegistryClient {
    return new RegistryClient({ http: this.http, auth, allowsHttp: (h) => allowsHttp(this.settings, h), maxErrorBodyBytes: 64 * 1024 });
  }

  pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    return pullImage(this.pullCtx, reference, options);
  }

  async pullAllTags(repository: string, options: PullOptions = {}): Promise<PullResult[]> {
    const r = parseRepository(repository, `pull all tags of ${repository}`);
    const tags = await this.listTags(repository, options.signal ? { signal: options.signal } : {});
    const out: PullResult[] = [];
    for (const tag of tags) out.push(await this.pull(`${r.domain}/${r.path}:${tag}`, options));
    return out;
  }

  async listTags(repository: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const r = parseRepository(repository, `list tags of ${repository}`);
    const endpoints = pullEndpoints(this.settings, r.domain);
    let last: unknown;
    for (const ep of endpoints) {
      try {
        return await this.client.listTags(ep, r.path, { maxPages: this.opts.maxTagPages, maxTags: this.opts.maxTags, maxPageBytes: this.opts.maxManifestBytes }, options.signal);
      } catch (err) {
        options.signal?.throwIfAborted();
        last = err;
        if (!ep.mirror) throw err;
      }
    }
    throw last;
  }

  push(reference: string, options: PushOptions = {}): Promise<PushResult> {
    return pushImage(this.pushCtx, reference, options);
  }

  /**
   * Checks the credentials against `https://<registry>/v2/` (through the token flow when
   * the registry asks for it), then stores them in berth's credentials file (0600,
   * atomically). `registry` is `host[:port]`, `docker.io`, or a URL such as
   * `https://index.docker.io/v1/`. FailedPrecondition when the registry or its token service
   * refuses them, or when berth has no credentials file configured.
   */
  async login(registry: string, options: LoginOptions): Promise<{ registry: string; stored: string }> {
    const key = credentialKey(registry);
    const what = `login to ${key}`;
    if (!this.opts.credentialsFile) throw failedPrecondition(`${what}: no credentials file is configured`);
    if (!options.username || options.username.includes(":")) throw invalidArgument(`${what}: a user name is required and cannot contain ':'`);
    const cred: Credential = { username: options.username, password: options.password };
    const host = apiHostOf(key);
    const auth = this.makeAuth(async () => cred);
    const client = this.makeClient(auth);
    const ep: Endpoint = { host, mirror: false };
    const res = await client.ping(ep, options.signal);
    if (res.status !== 200) throw await client.statusError(res, what);
    await res.discard();
    await storeCredential(this.opts.credentialsFile, key, cred);
    this.auth.forget(host);
    this.log.info({ registry: key, username: cred.username }, "credentials stored");
    return { registry: key, stored: this.opts.credentialsFile };
  }

  async logout(registry: string): Promise<boolean> {
    const key = credentialKey(registry);
    if (!this.opts.credentialsFile) return false;
    const removed = await removeCredential(this.opts.credentialsFile, key);
    this.auth.forget(apiHostOf(key));
    return removed;
  }
}

import * as path from "node:path";

/** berth's daemon settings file (registryMirrors, mirrors, insecureRegistries): `berth daemon --config` or BERTH_CONFIG overrides it. */
export const DEFAULT_SETTINGS_FILE = "/etc/berth/daemon.json";

export interface RegistryFiles {
  settingsFile: string;
  /** The Docker client config of the user berth runs as (read only). */
  dockerConfigFile: string;
  /** berth's own credentials, written by `berth login` (0600). */
  credentialsFile: string;
}

/**
 * Where the registry service of a runtime on `root` finds its files, as the daemon and the
 * CLI without a daemon both open it: the settings file given (else BERTH_CONFIG, else
 * DEFAULT_SETTINGS_FILE); Docker's config.json under $DOCKER_CONFIG, else
 * `$HOME/.docker/config.json` ($HOME unset: /root); credentials at
 * `<root>/registry/credentials.json`.
 */
export function defaultRegistryFiles(root: string, settingsFile?: string, env: NodeJS.ProcessEnv = process.env): RegistryFiles {
  const dockerDir = env.DOCKER_CONFIG || path.join(env.HOME || "/root", ".docker");
  return {
    settingsFile: settingsFile ?? (env.BERTH_CONFIG || DEFAULT_SETTINGS_FILE),
    dockerConfigFile: path.join(dockerDir, "config.json"),
    credentialsFile: path.join(path.resolve(root), "registry", "credentials.json"),
  };
}

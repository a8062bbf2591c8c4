/** Node's `process.arch` → OCI/Go GOARCH names. */
const ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

export function ociArchitecture(nodeArch: string = process.arch): string {
  return ARCH[nodeArch] ?? nodeArch;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture() };
}

/** True when an image for `candidate` runs on `host` (variant is not compared). */
export function platformMatches(candidate: Partial<Platform> | undefined, host: Platform = hostPlatform()): boolean {
  return candidate?.os === host.os && candidate?.architecture === host.architecture;
}

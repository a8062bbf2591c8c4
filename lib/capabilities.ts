import { invalidArgument } from "./errors.js";

/**
 * Linux capabilities as OCI names (`CAP_` prefixed). Docker's default set, every
 * capability the kernel may know (in number order, for `cap_last_cap`), and the
 * capAdd/capDrop arithmetic Docker applies.
 */

/** Docker's default bounding/effective/permitted set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability, indexed by its number (linux/capability.h). */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The capabilities a kernel with this `/proc/sys/kernel/cap_last_cap` knows. */
export function capabilitiesUpTo(lastCap: number): string[] {
  return ALL_CAPABILITIES.slice(0, Math.max(0, Math.min(lastCap, ALL_CAPABILITIES.length - 1)) + 1);
}

/**
 * "chown", "CHOWN", "cap_chown", "CAP_CHOWN" → "CAP_CHOWN"; "ALL"/"all" → "ALL".
 * InvalidArgument for names that are not capabilities.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL" || upper === "CAP_ALL") return "ALL";
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw invalidArgument(`invalid capability ${JSON.stringify(name)}`);
  return full;
}

/**
 * Docker's rule: start from the defaults (or every known capability when privileged);
 * drop "ALL" empties the set before adds; add "ALL" grants every capability; an explicit
 * drop wins over an explicit add of the same capability. Result is in `known` order.
 */
export function effectiveCapabilities(
  capAdd: readonly string[],
  capDrop: readonly string[],
  privileged: boolean,
  known: readonly string[] = ALL_CAPABILITIES,
): string[] {
  if (privileged) return [...known];
  const adds = capAdd.map(normalizeCapability);
  const drops = capDrop.map(normalizeCapability);
  let set = new Set<string>(drops.includes("ALL") ? [] : DEFAULT_CAPABILITIES);
  if (adds.includes("ALL")) set = new Set(known);
  for (const c of adds) if (c !== "ALL") set.add(c);
  for (const c of drops) if (c !== "ALL") set.delete(c);
  return known.filter((c) => set.has(c));
}

/** Like normalizeCapability, but undefined instead of an error for unknown names. */
export function canonicalCapability(name: string): string | undefined {
  try {
    return normalizeCapability(name);
  } catch {
    return undefined;
  }
}

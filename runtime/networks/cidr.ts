/**
 * IPv4 addresses and CIDR blocks as numbers: parsing (strict: four decimal octets, no
 * leading zeros, a prefix 0–32, no host bits set in a block), formatting, containment and
 * overlap. Pure; used by the address manager (ipam.ts) and, later, route and firewall code.
 */
import { invalidArgument } from "../../lib/errors.js";

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** `10.1.2.3` → 167838211. InvalidArgument for anything else. */
export function parseIPv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) throw invalidArgument(`parse address ${JSON.stringify(text)}: expected an IPv4 address like 10.0.0.1`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** `10.88.0.0/16`. InvalidArgument for a malformed block or one with host bits set. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !(prefix >= 0 && prefix <= 32)) throw invalidArgument(`parse subnet ${JSON.stringify(text)}: expected a CIDR block like 10.88.0.0/16`);
  const base = parseIPv4(m[1]!);
  if ((base & ~maskOf(prefix)) >>> 0 !== 0) throw invalidArgument(`parse subnet ${JSON.stringify(text)}: host bits are set (did you mean ${formatCidr({ base: (base & maskOf(prefix)) >>> 0, prefix })}?)`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** How many addresses the block spans. */
export function sizeOf(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The last address of the block (its broadcast address). */
export function lastOf(c: Cidr): number {
  return c.base + sizeOf(c) - 1;
}

export function contains(c: Cidr, address: number): boolean {
  return address >= c.base && address <= lastOf(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastOf(b) && b.base <= lastOf(a);
}

/** The blocks of `prefix` that `pool` splits into, in order (a /16 into /24s: 256 blocks). */
export function* subnetsOf(pool: Cidr, prefix: number): Generator<Cidr> {
  if (prefix < pool.prefix || prefix > 32) return;
  const step = 2 ** (32 - prefix);
  for (let base = pool.base; base <= lastOf(pool); base += step) yield { base, prefix };
}

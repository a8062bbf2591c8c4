import { constants } from "node:os";

/** Canonical signal name (`SIGTERM`) of "SIGTERM", "TERM", "15", "SIGRTMIN+3"; undefined if none. */
export function canonicalSignal(text: string | number): string | undefined {
  const sigs = constants.signals as Record<string, number>;
  if (typeof text === "number" || /^[0-9]+$/.test(text)) {
    const n = Number(text);
    const name = Object.keys(sigs).find((k) => sigs[k] === n);
    if (name) return name;
    return n >= 34 && n <= 64 ? `SIGRTMIN+${n - 34}` : undefined;
  }
  const up = text.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  if (name in sigs) return name;
  const rt = /^SIGRTMIN\+([0-9]+)$/.exec(name) ?? /^SIGRTMAX-([0-9]+)$/.exec(name);
  if (rt && Number(rt[1]) <= 30) return name;
  if (name === "SIGRTMIN" || name === "SIGRTMAX") return name;
  return undefined;
}

/** The number of a canonical signal name. */
export function signalNumber(name: string): number | undefined {
  const sigs = constants.signals as Record<string, number>;
  if (name in sigs) return sigs[name];
  if (name === "SIGRTMIN") return 34;
  if (name === "SIGRTMAX") return 64;
  const plus = /^SIGRTMIN\+([0-9]+)$/.exec(name);
  if (plus) return 34 + Number(plus[1]);
  const minus = /^SIGRTMAX-([0-9]+)$/.exec(name);
  if (minus) return 64 - Number(minus[1]);
  return undefined;
}

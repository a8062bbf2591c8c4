/** Signal names and numbers of Linux x86-64/arm64, as runc and `kill` know them. */
export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

export function signalNumber(name: string): number | undefined {
  return SIGNALS[name];
}

/**
 * "TERM", "SIGTERM", "sigterm", "15", "SIGRTMIN+3" → the canonical name runc accepts
 * ("SIGTERM", or the number as text for real-time signals). Undefined when invalid.
 */
export function normalizeSignal(sig: string): string | undefined {
  const s = sig.trim().toUpperCase();
  if (/^[0-9]{1,2}$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) return undefined;
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
    return name ?? String(n);
  }
  const name = s.startsWith("SIG") ? s : `SIG${s}`;
  if (SIGNALS[name] !== undefined) return name;
  const rt = /^SIGRTMIN(\+([0-9]{1,2}))?$/.exec(name);
  if (rt) {
    const n = 34 + Number(rt[2] ?? 0);
    return n <= 64 ? String(n) : undefined;
  }
  return undefined;
}

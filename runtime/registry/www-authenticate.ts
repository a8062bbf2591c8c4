/**
 * `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="https://auth.docker.io/token",
 * service="registry.docker.io",scope="repository:library/busybox:pull"`, possibly several
 * challenges in one header. Parameter names are lowercased; quoted values unescaped.
 * Malformed input yields what could be parsed (never throws).
 */
export interface Challenge {
  /** Lowercase scheme: `bearer`, `basic`, ... */
  scheme: string;
  params: Record<string, string>;
}

const MAX_HEADER = 8192;

export function parseWwwAuthenticate(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const s = header.slice(0, MAX_HEADER);
  const out: Challenge[] = [];
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
    if (!m) return "";
    i += m[0].length;
    return m[0];
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    ws();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    ws();
    if (s[i] === "=" && current) {
      i++;
      ws();
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(s.slice(i));
        value = m ? m[0] : "";
        i += value.length;
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // A new scheme; what follows up to the next scheme are its parameters.
      i = start + name.length;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/**
 * Parses env files as Docker Compose reads them: `NAME=value` lines, `#` comments and blank
 * lines skipped, an optional `export ` prefix, values optionally in single quotes (literal)
 * or double quotes (with \n \t \" \\ escapes); an unquoted value ends at ` #`. A bare `NAME`
 * gives an empty value. Throws RangeError naming the line on malformed input.
 */
export function parseEnvFile(text: string, file = "env file"): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    const name = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!/^[^\s=\u0000]+$/.test(name)) throw new RangeError(`${file}:${i + 1}: invalid variable name ${JSON.stringify(name)}`);
    if (eq < 0) return void out.push({ name, value: "" });
    let value = body.slice(eq + 1).trim();
    if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      if (end < 0) throw new RangeError(`${file}:${i + 1}: unterminated single quote`);
      value = value.slice(1, end);
    } else if (value.startsWith('"')) {
      let v = "";
      let j = 1;
      for (; j < value.length && value[j] !== '"'; j++) {
        if (value[j] === "\\" && j + 1 < value.length) {
          const c = value[++j]!;
          v += c === "n" ? "\n" : c === "t" ? "\t" : c;
        } else v += value[j];
      }
      if (j >= value.length) throw new RangeError(`${file}:${i + 1}: unterminated double quote`);
      value = v;
    } else {
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash).trimEnd();
    }
    out.push({ name, value });
  });
  return out;
}

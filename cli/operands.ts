import type * as Commander from "commander";

/**
 * Commands whose options end at the first operand, as `docker run IMAGE [COMMAND...]` reads
 * them: what follows the image is the container's command, options and all (`berth run img
 * sh -c 'echo hi'`, `berth run img ls -l`), never berth's.
 */
const OPTIONS_END_AT_FIRST_OPERAND = new Set(["run"]);

/**
 * `argv` (process.argv: node, script, args) with `--` put before the first operand of such a
 * command, so that commander takes the rest as operands. Option values are skipped as the
 * command's and the program's options declare them (`--name x`, `-e K=V`, `-eK=V`,
 * `--name=x`, `-it`); an unknown option counts as a flag (commander reports it).
 */
export function endOptionsAtOperand(argv: string[], program: Commander.Command): string[] {
  const args = argv.slice(2);
  const programOptions = program.options as readonly Commander.Option[];
  let i = skipOptions(args, 0, programOptions);
  const name = args[i];
  if (name === undefined || !OPTIONS_END_AT_FIRST_OPERAND.has(name)) return argv;
  const cmd = program.commands.find((c) => c.name() === name);
  if (!cmd) return argv;
  const options = [...(cmd.options as readonly Commander.Option[]), ...programOptions];
  i = skipOptions(args, i + 1, options);
  if (i >= args.length || args[i] === "--") return argv;
  return [...argv.slice(0, 2), ...args.slice(0, i), "--", ...args.slice(i)];
}

/** The index of the first operand (or `--`) at or after `from`. */
function skipOptions(args: string[], from: number, options: readonly Commander.Option[]): number {
  const takesValue = (o: Commander.Option | undefined) => o !== undefined && (o.required || o.optional) && !o.negate;
  // commander: a required value is the next word whatever it is; an optional one unless it looks like an option.
  const valueFollows = (o: Commander.Option, next: string | undefined) => o.required || (next !== undefined && !next.startsWith("-"));
  let i = from;
  while (i < args.length) {
    const t = args[i]!;
    if (t === "--" || !t.startsWith("-") || t === "-") return i;
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const o = options.find((x) => x.long === (eq < 0 ? t : t.slice(0, eq)));
      i += eq < 0 && takesValue(o) && valueFollows(o!, args[i + 1]) ? 2 : 1;
      continue;
    }
    // A cluster of short flags: the first one that takes a value takes the rest, or the next word.
    let next = i + 1;
    for (let j = 1; j < t.length; j++) {
      const o = options.find((x) => x.short === `-${t[j]}`);
      if (takesValue(o)) {
        if (j === t.length - 1 && valueFollows(o!, args[i + 1])) next = i + 2;
        break;
      }
    }
    i = next;
  }
  return i;
}

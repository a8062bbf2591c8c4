import { describe, expect, it } from "vitest";
import { interpolate, referencedNames } from "./interpolate.js";

const env: Record<string, string> = { SET: "v", EMPTY: "", PORT: "8080", HOST: "db" };
const lookup = (n: string) => (Object.prototype.hasOwnProperty.call(env, n) ? env[n] : undefined);
const run = (s: string) => interpolate(s, lookup);

describe("interpolate", () => {
  it.each([
    ["plain text", "plain text"],
    ["$SET", "v"],
    ["${SET}", "v"],
    ["a${SET}b$SET.c", "avbv.c"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["cost $5 and $ alone $", "cost $5 and $ alone $"],
    ["$(rm -rf /)", "$(rm -rf /)"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${SET:-d}", "v"],
    ["${UNSET-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${UNSET:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${SET:?boom}", "v"],
    ["${EMPTY?boom}", ""],
    ["${UNSET:-${HOST:-x}}", "db"],
    ["${UNSET:-${ALSO_UNSET:-deep}}", "deep"],
    ["${UNSET:-$PORT}", "8080"],
    ["${UNSET:-a:b}", "a:b"],
    ["${UNSET:-}", ""],
    ["${SET:+${PORT}:80}", "8080:80"],
  ])("%s → %s", (input, expected) => {
    const r = run(input);
    expect(r.errors).toEqual([]);
    expect(r.value).toBe(expected);
  });

  it("reports a variable without a value and default, and substitutes an empty string", () => {
    expect(run("x=${NOPE} $ALSO")).toEqual({ value: "x= ", errors: [], unset: [{ name: "NOPE", offset: 2 }, { name: "ALSO", offset: 10 }] });
    expect(run("${UNSET:-${INNER}}").unset).toEqual([{ name: "INNER", offset: 9 }]);
  });

  it.each([
    ["${UNSET:?needs a value}", 0, "required variable UNSET is not set: needs a value"],
    ["${EMPTY:?}", 0, "required variable EMPTY is empty"],
    ["ab ${UNSET?set it}", 3, "required variable UNSET is not set: set it"],
    ["${UNSET:-${NESTED:?inner}}", 9, "required variable NESTED is not set: inner"],
    ["x ${}", 2, 'invalid interpolation "${}"'],
    ["${1ABC}", 0, 'invalid interpolation "${1ABC}"'],
    ["${SET!x}", 0, 'invalid interpolation "${SET!x}"'],
    ["a ${SET", 2, "has no closing '}'"],
  ])("%s fails at offset %i", (input, offset, message) => {
    const r = run(input);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.offset).toBe(offset);
    expect(r.errors[0]!.message).toContain(message);
  });

  it("adds the base offset to every position", () => {
    expect(interpolate("${X:?no}", lookup, 10).errors[0]!.offset).toBe(10);
  });

  it("finds the names a text refers to, in defaults too, not in $$", () => {
    expect([...referencedNames("$A ${B:-${C}} $$D ${E}")]).toEqual(["A", "B", "C", "E"]);
  });
});

import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMAND_GROUPS, groupsFor, VERB_GROUPS, type CommandGroup } from "./registration.js";

const ALL = Object.keys(COMMAND_GROUPS);

describe("VERB_GROUPS", () => {
  it.each(ALL as CommandGroup[])("names exactly the top-level commands group %s registers", async (group) => {
    const program = new Command("berth");
    (await COMMAND_GROUPS[group]())(program);
    const registered = program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort();
    const table = Object.entries(VERB_GROUPS).filter(([, g]) => g === group).map(([v]) => v).sort();
    expect(registered).toEqual(table);
  });
});

describe("groupsFor", () => {
  it.each<[string[], string[]]>([
    [["exec", "box", "--", "true"], ["container"]],
    [["--run-root", "/run/x", "exec", "-it", "box", "--", "sh"], ["container"]],
    [["--root=/var/lib/x", "get", "ctr"], ["object"]],
    [["--socket", "exec", "get"], ["object"]],
    [["image", "ls"], ["image"]],
    [["network", "ls"], ["volume"]],
    [[], ALL],
    [["--help"], ALL],
    [["-v"], ALL],
    [["help", "exec"], ALL],
    [["exce", "box"], ALL],
    [["--", "exec"], ALL],
    [["constructor"], ALL],
  ])("%j → %j", (args, groups) => {
    expect(groupsFor(args)).toEqual(groups);
  });
});

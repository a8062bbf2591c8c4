import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { checkStackName, defaultStackName, kindArg, objectArgs, parseSelector, parseSince, parseTimeout, sanitizeStackName } from "./manifest-args.js";

describe("default stack name", () => {
  it.each<[string, boolean, string]>([
    ["examples/web", true, "web"],
    ["examples/web/", true, "web"],
    ["deploy/app.yaml", false, "app"],
    ["My_App.v2.yml", false, "my-app-v2"],
    ["/srv/Shop Front", true, "shop-front"],
    ["_x_.json", false, "x"],
  ])("%s (dir: %s) → %s", (p, dir, name) => expect(defaultStackName(p, dir)).toBe(name));

  it("needs --stack for stdin or when nothing is left", () => {
    expect(() => defaultStackName("-", false)).toThrow(/needs --stack/);
    expect(() => defaultStackName("___.yaml", false)).toThrow(UsageError);
  });

  it("caps the length at 63 without a trailing dash", () => {
    const name = sanitizeStackName(`${"a".repeat(62)}_b`);
    expect(name).toBe("a".repeat(62));
    expect(checkStackName(name)).toBe(name);
  });

  it("rejects explicit invalid names with a suggestion", () => {
    expect(() => checkStackName("My_App")).toThrow('invalid stack name "My_App": use lowercase letters, digits and \'-\', at most 63 characters (e.g. "my-app")');
  });
});

describe("parseSince", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  it.each<[string, number]>([
    ["10m", now - 600_000],
    ["1h30m", now - 5_400_000],
    ["2024-05-01T10:00:00Z", Date.parse("2024-05-01T10:00:00Z")],
    ["2024-05-01T10:00:00.123456789+02:00", Date.parse("2024-05-01T08:00:00.123Z")],
    ["1714557600", 1_714_557_600_000],
  ])("%s", (text, ms) => expect(parseSince(text, now)).toBe(ms));

  it("rejects anything else", () => {
    expect(() => parseSince("yesterday", now)).toThrow(/invalid --since "yesterday"/);
    expect(() => parseSince("2024-13-45T00:00:00Z", now)).toThrow(UsageError);
  });
});

describe("arguments", () => {
  it("parses timeouts and selectors", () => {
    expect(parseTimeout("5m")).toBe(300_000);
    expect(() => parseTimeout("5 minutes")).toThrow('invalid --timeout "5 minutes": expected a duration like 30s, 5m or 1h30m');
    expect(parseSelector("app=web, tier=front")).toEqual({ app: "web", tier: "front" });
    expect(parseSelector(undefined)).toEqual({});
    expect(() => parseSelector("app")).toThrow(/expected key=value/);
  });

  it("resolves kinds with a suggestion for typos", () => {
    expect(kindArg("ctr")).toBe("Container");
    expect(kindArg("Volumes")).toBe("Volume");
    expect(() => kindArg("contaner")).toThrow(/unknown kind "contaner"; did you mean "container"\?/);
    expect(() => kindArg("pods")).toThrow(/unknown kind "pods" \(kinds: image, images, img/);
  });

  it("takes objects as KIND NAME... or KIND/NAME...", () => {
    expect(objectArgs(["container", "web", "db"])).toEqual([
      { kind: "Container", name: "web" },
      { kind: "Container", name: "db" },
    ]);
    expect(objectArgs(["ctr/web", "vol/data"])).toEqual([
      { kind: "Container", name: "web" },
      { kind: "Volume", name: "data" },
    ]);
    expect(() => objectArgs(["container"])).toThrow(/name the container/);
    expect(() => objectArgs(["ctr/web", "db"])).toThrow(/not both/);
    expect(() => objectArgs([])).toThrow(UsageError);
  });
});

import { describe, expect, it } from "vitest";
import { splitShellWords } from "./shell-words.js";
import { normalizeSignal, signalNumber } from "./signals.js";
import { canonicalCapability } from "./capabilities.js";

describe("splitShellWords", () => {
  it.each([
    ["httpd -f -p 8080", ["httpd", "-f", "-p", "8080"]],
    [`sh -c 'echo "hi there"; exit 3'`, ["sh", "-c", 'echo "hi there"; exit 3']],
    [`echo "a \\"b\\" $HOME"`, ["echo", 'a "b" $HOME']],
    ["a\\ b c", ["a b", "c"]],
    ["  lead   trail  ", ["lead", "trail"]],
    [`''`, [""]],
    ["rm -rf / ; echo pwned", ["rm", "-rf", "/", ";", "echo", "pwned"]],
  ])("%j", (text, argv) => expect(splitShellWords(text)).toEqual(argv));

  it.each([`echo 'x`, `echo "x`, "echo x\\"])("rejects %j", (text) => expect(() => splitShellWords(text)).toThrow(RangeError));
});

describe("signals and capabilities", () => {
  it("canonicalizes signals", () => {
    expect(normalizeSignal("TERM")).toBe("SIGTERM");
    expect(normalizeSignal("sigkill")).toBe("SIGKILL");
    expect(normalizeSignal("15")).toBe("SIGTERM");
    expect(normalizeSignal("SIGRTMIN+3")).toBe("37"); // runc takes real-time signals by number
    expect(normalizeSignal("SIGNOPE")).toBeUndefined();
    expect(signalNumber("SIGUSR1")).toBe(10);
  });
  it("canonicalizes capabilities", () => {
    expect(canonicalCapability("net_admin")).toBe("CAP_NET_ADMIN");
    expect(canonicalCapability("CAP_CHOWN")).toBe("CAP_CHOWN");
    expect(canonicalCapability("all")).toBe("ALL");
    expect(canonicalCapability("NET_ADMN")).toBeUndefined();
  });
});

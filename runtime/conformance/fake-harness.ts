import { ManualClock } from "../../lib/clock.js";
import type { ContainerRuntime } from "../types.js";
import { FakeContainerRuntime, type FakeProcess } from "../testing/fake-container-runtime.js";
import { FakeImageStore } from "../testing/fake-image-store.js";
import { FakeVolumeStore } from "../testing/fake-volume-store.js";
import { normalizeSignal } from "../../lib/signals.js";
import { decodeBehavior } from "./behaviors.js";
import { actOutExecStream } from "./exec-stream-behaviors.js";
import type { SuiteHarness } from "./types.js";

/**
 * The container-runtime suite's harness for FakeContainerRuntime: a ManualClock, a
 * FakeImageStore holding a busybox-like image (Cmd ["sh"]), a FakeVolumeStore, and start
 * and exec handlers that act out the Behavior each command carries (behaviors.ts) — what
 * the busybox script would do, timed on the manual clock. Commands without a behaviour
 * just run until SIGKILL or a signal the fake's default stop behaviour ends them with.
 */
export async function openFakeHarness(): Promise<SuiteHarness> {
  const clock = new ManualClock();
  let runtime: FakeContainerRuntime;
  const images = new FakeImageStore({ clock, inUse: (img) => runtime.usesImage(img.digest) });
  const image = "localhost/conformance-busybox:1";
  images.addImage(image, { Cmd: ["sh"], Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] });
  const volumes = new FakeVolumeStore({ clock });
  runtime = new FakeContainerRuntime({ clock, images, volumes });
  runtime.onStart(actOut);
  runtime.onExec(async (_container, options) => {
    const b = decodeBehavior(options.argv);
    if (b?.kind !== "exec") return { exitCode: 0 };
    if (b.sleepMs) await clock.sleep(b.sleepMs);
    return { exitCode: b.exitCode ?? 0, stdout: b.stdout ?? "", stderr: b.stderr ?? "" };
  });
  runtime.onExecStream(actOutExecStream(clock));
  return {
    get runtime(): ContainerRuntime {
      return runtime;
    },
    clock,
    image,
    volumes,
    pass: (ms) => clock.advance(ms),
    async reopen(whileClosed) {
      await runtime.close();
      await whileClosed?.();
      runtime = await runtime.reopen();
    },
    async reboot() {
      runtime = await runtime.wipeHost();
    },
    async cleanup() {},
  };
}

/** What the container's script would do (behaviors.ts), on the manual clock. */
function actOut(p: FakeProcess): void {
  const b = decodeBehavior(p.spec.command);
  if (!b) return;
  // pid-1 rules: a signal no trap names is ignored.
  p.onSignal(() => {});
  switch (b.kind) {
    case "exit": {
      const finish = () => {
        for (const l of b.stdout ?? []) p.log(l, "stdout");
        for (const l of b.stderr ?? []) p.log(l, "stderr");
        p.exit(b.code);
      };
      if (b.afterMs) p.after(b.afterMs, finish);
      else finish();
      return;
    }
    case "serve": {
      const traps = new Map(Object.entries(b.traps ?? {}).map(([sig, t]) => [normalizeSignal(sig), t] as const));
      p.onSignal((sig) => {
        const t = traps.get(sig);
        if (!t) return;
        if (t.say !== undefined) p.log(t.say);
        p.exit(t.exitCode);
      });
      p.log("ready");
      return;
    }
    case "tick":
      b.lines.forEach((l, i) => (i === 0 ? p.log(l) : p.after(i * b.intervalMs, () => p.log(l))));
      p.after(b.lines.length * b.intervalMs, () => p.exit(0));
      return;
    case "exec":
      return;
  }
}

/**
 * Test fakes of the ControllerApi. `fakeApi(methods)` is an API whose every method the test
 * does not give rejects with NotImplemented — so a test names only the methods it uses, and
 * a method added to the interface needs no change to every fake.
 */
import { notImplemented } from "../../lib/errors.js";
import type { ControllerApi } from "./types.js";

export function fakeApi(methods: Partial<ControllerApi>, what = "fake"): ControllerApi {
  return new Proxy(methods, {
    get(target, key, receiver) {
      if (key in target) return Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== "string" || key === "then") return undefined;
      return () => Promise.reject(notImplemented(`${what}: ${key} is not in this test`));
    },
  }) as ControllerApi;
}

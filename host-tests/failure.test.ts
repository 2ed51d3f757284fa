import assert from "node:assert/strict";
import { fail, failure, ok } from "../firmware/platform/failure.js";

describe("failure values", () => {
  it("carry a code, a sentence and whether a retry may help", () => {
    assert.deepEqual(failure("clock-unset", "the clock is not set", true), {
      code: "clock-unset",
      message: "the clock is not set",
      retryable: true,
    });
  });

  it("wrap results so callers branch instead of catching", () => {
    const good = ok(3);
    const bad = fail("bad-config", "config field 'port': 0 is not a port");
    assert.equal(good.ok && good.value, 3);
    assert.equal(!bad.ok && bad.failure.code, "bad-config");
    assert.equal(!bad.ok && bad.failure.retryable, false);
  });
});

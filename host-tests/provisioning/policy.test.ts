import assert from "node:assert/strict";
import { failure } from "../../firmware/platform/failure.js";
import { attemptStarted, classify, decide, initialState, type LoopState, type PolicyParams } from "../../firmware/provisioning/policy.js";

const params: PolicyParams = {
  backoffBaseMs: 1000, backoffCapMs: 8000, connectSpacingMs: 1000,
  provisioningAttempts: 4, provisioningGraceMs: 10_000, reconnectAttempts: 0,
  stableSessionMs: 5000, takeoverThreshold: 3,
};
const reset = failure("tls-handshake-reset", "reset during the handshake", true);
const beforeConnack = failure("mqtt-closed-before-connack", "closed", true);


describe("provisioning retry decisions", () => {
  it("treats a reset handshake or a close before CONNACK on a fresh device as still provisioning", () => {
    assert.equal(classify(reset, false, true), "provisioning");
    assert.equal(classify(beforeConnack, false, true), "provisioning");
    assert.equal(classify(undefined, false, true), "provisioning");
  });

  it("treats the same drops on a provisioned device as network trouble", () => {
    assert.equal(classify(reset, true, true), "network");
  });

  it("never retries an untrusted server, a hostname mismatch or CONNACK 4 and 5", () => {
    for (const code of ["tls-untrusted-server", "tls-hostname-mismatch", "connack-bad-credentials", "connack-not-authorized"]) {
      assert.equal(classify(failure(code, "x"), false, true), "permanent", code);
    }
  });

  it("tolerates a bad-certificate alert only while provisioning may still be under way", () => {
    const alert = failure("tls-alert-bad-certificate", "alert");
    assert.equal(classify(alert, false, true), "provisioning");
    assert.equal(classify(alert, false, false), "permanent");
    assert.equal(classify(alert, true, true), "permanent");
  });

  it("falls back on the failure's own retryable flag for codes it does not know", () => {
    assert.equal(classify(failure("ws-upgrade-refused", "401"), true, true), "permanent");
    assert.equal(classify(failure("cognito-unreachable", "x", true), true, true), "network");
  });

  it("retries a fresh device's first drop one spacing after the attempt ended, plus its jitter", () => {
    const state = initialState(false);
    attemptStarted(state, 1000);
    const decision = decide(state, reset, undefined, 1050, 0.1, params);
    assert.equal(decision.status, "provisioning");
    assert.equal(decision.delayMs, 1000 + 100);
  });

  it("spaces retries further apart as failures pile up, within the cap", () => {
    const state = initialState(true);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i += 1) {
      attemptStarted(state, now);
      const { delayMs } = decide(state, failure("connection-refused", "x", true), undefined, now + 10, 0.99, params);
      assert.ok(delayMs !== undefined, "a retry");
      delays.push(delayMs);
      now += 10 + delayMs;
    }
    assert.deepEqual(delays, [1990, 2980, 4960, 8920, 8920, 8920]);
  });

  it("gives up on a device that never gets provisioned, with advice about the template", () => {
    const state = initialState(false);
    let now = 0;
    for (let i = 1; i <= params.provisioningAttempts; i += 1) {
      attemptStarted(state, now);
      const decision = decide(state, reset, undefined, now + 5, 0.5, params);
      if (i < params.provisioningAttempts) {
        assert.ok(decision.delayMs !== undefined, `attempt ${i} is retried`);
        now += 5 + decision.delayMs;
      } else {
        assert.equal(decision.delayMs, undefined, "a stop");
        assert.equal(decision.status, "gave-up");
        assert.equal(decision.code, "provisioning-timeout");
        assert.match(decision.message, /4 attempts.*template/);
      }
    }
  });

  it("never gives up on a provisioned device when the reconnect limit is 0", () => {
    const state = initialState(true);
    for (let i = 0; i < 50; i += 1) {
      attemptStarted(state, i * 10_000);
      const decision = decide(state, reset, undefined, i * 10_000 + 1, 0.5, params);
      assert.notEqual(decision.delayMs, undefined, "a retry");
    }
  });

  it("stops at once with a refused status that names the cause", () => {
    const state = initialState(true);
    attemptStarted(state, 0);
    const decision = decide(state, failure("connack-not-authorized", "CONNACK 5"), undefined, 10, 0.5, params);
    assert.equal(decision.delayMs, undefined, "a stop");
    assert.equal(decision.status, "refused");
    // The cause and the fix; the loop puts the failure's code before it (loop.test.ts).
    assert.match(decision.message, /CONNACK 5.*iot:Connect/);
  });

  it("resets the backoff after a session that lasted long enough", () => {
    const state: LoopState = { ...initialState(true), failures: 5 };
    attemptStarted(state, 0);
    const decision = decide(state, undefined, 6000, 60_000, 0.99, params);
    assert.equal(state.failures, 0);
    // the spacing, then the first retry's jitter: devices whose sessions an endpoint restart ended together spread out
    assert.equal(decision.delayMs, 1000 + 990);
  });

  it("reports a takeover once after short sessions in a row, and then waits the full cap", () => {
    const state = initialState(true);
    let now = 0;
    const seen: boolean[] = [];
    const delays: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      attemptStarted(state, now);
      const decision = decide(state, undefined, 200, now + 200, 0, params);
      assert.ok(decision.delayMs !== undefined, "a retry");
      seen.push(decision.status === "takeover");
      delays.push(decision.delayMs);
      now += 200 + decision.delayMs;
    }
    assert.deepEqual(seen, [false, false, true, false, false]);
    assert.deepEqual(delays.slice(2), [8000, 8000, 8000]);
    assert.ok(delays[0]! >= 800 && delays[1]! >= 800);
  });
});

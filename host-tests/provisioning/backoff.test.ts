import assert from "node:assert/strict";
import { nextAttemptDelay } from "../../firmware/provisioning/backoff.js";

const params = { backoffBaseMs: 1000, backoffCapMs: 8000, connectSpacingMs: 1000 };
/** The jitter alone: the delay before retry `attempt` when no attempt came before. */
const jitteredDelay = (attempt: number, random: number) => nextAttemptDelay(attempt, random, 0, undefined, params);

describe("backoff with full jitter", () => {
  it("draws the first retry uniformly below the base", () => {
    assert.equal(jitteredDelay(0, 0), 0);
    assert.equal(jitteredDelay(0, 0.5), 500);
    assert.equal(jitteredDelay(0, 0.999), 999);
  });

  it("doubles the ceiling with each attempt until the cap", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => jitteredDelay(n, 0.5)), [500, 1000, 2000, 4000, 4000, 4000]);
  });

  it("stays finite and capped for huge attempt numbers", () => {
    assert.equal(jitteredDelay(5000, 0.999), 7992);
  });

  it("never starts an attempt within the spacing of the previous one, even when jitter says zero", () => {
    assert.equal(nextAttemptDelay(0, 0, 10_200, 10_000, params), 800);
    assert.equal(nextAttemptDelay(0, 0, 12_000, 10_000, params), 0);
  });

  it("adds the jitter after the spacing, so devices dropped together spread over the jitter window", () => {
    assert.equal(nextAttemptDelay(3, 0.5, 10_100, 10_000, params), 900 + 4000);
    // Dropped at the same moment, right after their attempts began: spread over [1000, 2000) ms, not all at 1000.
    assert.deepEqual([0, 0.25, 0.5, 0.999].map((random) => nextAttemptDelay(0, random, 10_000, 10_000, params)), [1000, 1250, 1500, 1999]);
  });

  it("waits nothing before the very first attempt", () => {
    assert.equal(nextAttemptDelay(0, 0, 5, undefined, params), 0);
  });
});

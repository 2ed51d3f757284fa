// The job execution's status machine, version checks and timers as pure functions.
import assert from "node:assert/strict";
import {
  applyDeviceUpdate, deadlineOf, endExecution, pendingInOrder, startExecution, statusDetailsProblem, stepTimeoutProblem,
  type ExecutionRecord, type ExecutionStatus,
} from "../../host/iotcore/services/jobs/execution.js";

const MINUTE = 60_000;

function execution(status: ExecutionStatus, extra: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return { jobId: "j1", thingName: "t1", executionNumber: 1, status, versionNumber: 1, queuedAt: 1000, lastUpdatedAt: 1000, ...extra };
}

describe("job execution status machine", () => {
  it("a QUEUED execution starts IN_PROGRESS with its version raised, its start time and both timers set", () => {
    const result = applyDeviceUpdate(execution("QUEUED"), { status: "IN_PROGRESS", stepTimeoutInMinutes: 2, statusDetails: { step: "download" } },
      { nowMs: 5000, minuteMs: MINUTE, inProgressTimeoutInMinutes: 10 });
    assert.ok(result.ok);
    assert.deepEqual(result.value, {
      jobId: "j1", thingName: "t1", executionNumber: 1, status: "IN_PROGRESS", versionNumber: 2, queuedAt: 1000, startedAt: 5000,
      lastUpdatedAt: 5000, statusDetails: { step: "download" }, stepDeadline: 5000 + 2 * MINUTE, inProgressDeadline: 5000 + 10 * MINUTE,
    });
    assert.equal(deadlineOf(result.value), 5000 + 2 * MINUTE);
  });

  it("each device status is allowed from QUEUED and IN_PROGRESS; nothing leaves a terminal status", () => {
    const timing = { nowMs: 2000, minuteMs: MINUTE };
    for (const from of ["QUEUED", "IN_PROGRESS"] as const) {
      for (const to of ["IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"] as const) {
        assert.ok(applyDeviceUpdate(execution(from), { status: to }, timing).ok, `${from} -> ${to}`);
      }
    }
    for (const from of ["SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"] as const) {
      const result = applyDeviceUpdate(execution(from, { versionNumber: 4 }), { status: "IN_PROGRESS" }, timing);
      assert.deepEqual(result, { ok: false, error: { code: "InvalidStateTransition", message: `the job execution cannot change from ${from} to IN_PROGRESS`, executionState: { status: from, versionNumber: 4 } } });
    }
  });

  it("a device cannot set the statuses only the service sets", () => {
    for (const to of ["QUEUED", "TIMED_OUT", "CANCELED", "REMOVED"] as const) {
      const result = applyDeviceUpdate(execution("IN_PROGRESS"), { status: to }, { nowMs: 2000, minuteMs: MINUTE });
      assert.equal(result.ok ? "ok" : result.error.code, "InvalidStateTransition", to);
    }
  });

  it("an expectedVersion other than the execution's is VersionMismatch with the current state", () => {
    const current = execution("IN_PROGRESS", { versionNumber: 3, statusDetails: { a: "b" } });
    const result = applyDeviceUpdate(current, { status: "SUCCEEDED", expectedVersion: 2 }, { nowMs: 2000, minuteMs: MINUTE });
    assert.deepEqual(result, { ok: false, error: { code: "VersionMismatch", message: "expectedVersion 2 does not match the execution's version 3", executionState: { status: "IN_PROGRESS", statusDetails: { a: "b" }, versionNumber: 3 } } });
    assert.ok(applyDeviceUpdate(current, { status: "SUCCEEDED", expectedVersion: 3 }, { nowMs: 2000, minuteMs: MINUTE }).ok);
  });

  it("the step timer is kept when an update does not name one, replaced when it does, cancelled by -1, and stopped by a terminal status", () => {
    const running = execution("IN_PROGRESS", { stepDeadline: 9000, inProgressDeadline: 20_000 });
    const timing = { nowMs: 3000, minuteMs: 1000 };
    const kept = applyDeviceUpdate(running, { status: "IN_PROGRESS" }, timing);
    const replaced = applyDeviceUpdate(running, { status: "IN_PROGRESS", stepTimeoutInMinutes: 1 }, timing);
    const cancelled = applyDeviceUpdate(running, { status: "IN_PROGRESS", stepTimeoutInMinutes: -1 }, timing);
    const done = applyDeviceUpdate(running, { status: "SUCCEEDED" }, timing);
    assert.ok(kept.ok && replaced.ok && cancelled.ok && done.ok);
    assert.equal(kept.value.stepDeadline, 9000);
    assert.equal(replaced.value.stepDeadline, 4000);
    assert.equal(cancelled.value.stepDeadline, undefined);
    assert.equal(deadlineOf(cancelled.value), 20_000, "the in-progress timer still runs");
    assert.equal(deadlineOf(done.value), undefined);
  });

  it("the service's endings raise the version and stop the timers; start-next leaves an IN_PROGRESS execution as it is", () => {
    const ended = endExecution(execution("IN_PROGRESS", { stepDeadline: 9000, versionNumber: 2 }), "CANCELED", 7000, { forceCanceled: true });
    assert.deepEqual(ended, { jobId: "j1", thingName: "t1", executionNumber: 1, status: "CANCELED", versionNumber: 3, queuedAt: 1000, lastUpdatedAt: 7000, forceCanceled: true });
    const running = execution("IN_PROGRESS", { versionNumber: 5 });
    assert.equal(startExecution(running, { statusDetails: { x: "y" } }, { nowMs: 1, minuteMs: MINUTE }), running);
  });

  it("the next pending execution is the oldest IN_PROGRESS one, then the oldest QUEUED one", () => {
    const list = [
      execution("QUEUED", { jobId: "a", executionNumber: 1 }), execution("SUCCEEDED", { jobId: "b", executionNumber: 2 }),
      execution("IN_PROGRESS", { jobId: "c", executionNumber: 5 }), execution("QUEUED", { jobId: "d", executionNumber: 3 }),
      execution("IN_PROGRESS", { jobId: "e", executionNumber: 4 }),
    ];
    assert.deepEqual(pendingInOrder(list).map((e) => e.jobId), ["e", "c", "a", "d"]);
  });

  it("checks statusDetails and stepTimeoutInMinutes as AWS bounds them", () => {
    assert.equal(statusDetailsProblem({ progress: "10%", "a:b_c-d": "x" }), undefined);
    assert.match(statusDetailsProblem({ "bad key": "x" })!, /key 'bad key'/);
    assert.match(statusDetailsProblem({ n: 5 })!, /value of 'n' must be a string/);
    assert.match(statusDetailsProblem({ n: "x".repeat(1025) })!, /1-1024 characters/);
    assert.match(statusDetailsProblem([])!, /must be an object/);
    assert.equal(stepTimeoutProblem(10080), undefined);
    assert.equal(stepTimeoutProblem(-1), undefined);
    assert.match(stepTimeoutProblem(0)!, /from 1 to 10080/);
    assert.match(stepTimeoutProblem(10081)!, /from 1 to 10080/);
  });
});

// The fleet report's figures from hand-made records: what counts as a CONNECT pair under 1 s, a
// lost message, a device's CONNECTs over its client ids, and the waves' peaks.
import assert from "node:assert/strict";
import { ACCOUNT_LIMITS } from "../../host/iotcore/index.js";
import { checkBackoff, policyParams, recordAttemptLine, type AttemptRecord } from "../../host/fleet/backoff-check.js";
import { buildReport, percentile, type DeviceRecord, type RunFacts } from "../../host/fleet/report.js";
import type { ConnectRecord } from "../../host/fleet/standin.js";

const T0 = 1_000_000;
// The fleet's pacing: 1 s base, 60 s cap, 1 s spacing, a session stable after 30 s, takeover after 3 short sessions.
const POLICY = policyParams({ backoffBaseMs: 1000, backoffCapMs: 60_000, provisioningAttempts: 10 });

function facts(overrides: Partial<RunFacts> = {}): RunFacts {
  return {
    devices: 2, provisioning: "jitp", mode: "mtls", engine: "node", durationS: 10, seed: 1, telemetryIntervalMs: 1000, provisioningAttempts: 10,
    startedAt: T0, endedAt: T0 + 10_000, limits: { ...ACCOUNT_LIMITS }, standIn: { cpuMs: 1, peakRssBytes: 1, peakHeapUsedBytes: 1 }, runner: { cpuMs: 1, peakRssBytes: 1 },
    onlineSamples: [], policy: POLICY, ...overrides,
  };
}

function device(thingName: string, overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return { thingName, clientIds: [thingName], engine: "node", statuses: [[T0 + 2000, "online"]], acked: [1, 2], produced: 2, queued: 0, ...overrides };
}

const received = (pairs: string[]) => ({ received: pairs.length, duplicates: 0, has: (thing: string, seq: number) => pairs.includes(`${thing}#${seq}`) });

describe("the fleet report", () => {
  it("takes percentiles by nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile([], 50)], [50, 95, 99, 0]);
  });

  it("names every pair of one client id's CONNECTs under 1 s, and ignores the subscriber's", () => {
    const connects: ConnectRecord[] = [
      [T0 + 100, "a", false, "jitp in progress"], [T0 + 1200, "a", true, ""],
      [T0 + 100, "b", true, ""], [T0 + 900, "b", false, "more than 1 CONNECT per second for this client id (throttled)"],
      [T0 + 100, "watcher", true, ""], [T0 + 200, "watcher", true, ""],
    ];
    const report = buildReport(facts(), [device("a"), device("b")], connects, received(["a#1", "a#2", "b#1", "b#2"]), ["watcher"]);
    assert.deepEqual(report.connects.under1s, [{ clientId: "b", intervalMs: 800, atS: 0.9 }]);
    assert.equal(report.connects.shortestIntervalMs, 800);
    assert.equal(report.connects.throttledByClientId, 1);
    assert.equal(report.connects.total, 4);
    assert.equal(report.checks["no two CONNECTs of one device within 1 s"], false);
    assert.equal(report.ok, false);
  });

  it("counts an acknowledged message the subscriber never received as lost", () => {
    const report = buildReport(facts(), [device("a"), device("b")], [], received(["a#1", "a#2", "b#2"]), []);
    assert.equal(report.telemetry.lost, 1);
    assert.deepEqual(report.telemetry.lostSamples, [{ thing: "b", seq: 1 }]);
    assert.equal(report.checks["no acknowledged message lost"], false);
  });

  it("adds up a device's CONNECTs over its client ids (the claim's session and the thing's)", () => {
    const unit = device("device-unit-1", { clientIds: ["unit-1", "device-unit-1"] });
    const connects: ConnectRecord[] = [[T0 + 100, "unit-1", true, ""], [T0 + 3000, "device-unit-1", true, ""], [T0 + 5000, "device-unit-1", true, ""]];
    const report = buildReport(facts({ devices: 1 }), [unit], connects, received(["device-unit-1#1", "device-unit-1#2"]), []);
    assert.equal(report.connects.perDevice.p50, 3);
    assert.deepEqual(report.connects.perDevice.histogram, [{ attempts: 3, devices: 1 }]);
  });

  it("finds the peak after the first wave and in the reconnect wave after a restart", () => {
    const connects: ConnectRecord[] = [];
    for (let i = 0; i < 5; i++) connects.push([T0 + 100 + i, `d${i}`, true, ""]);          // second 0: the power-on wave
    for (let i = 0; i < 3; i++) connects.push([T0 + 6100 + i, `d${i}`, true, ""]);         // second 6: after the restart at 6 s
    const devices = [0, 1, 2, 3, 4].map((i) => device(`d${i}`, { statuses: [[T0 + 500, "online"], [T0 + 6000, "reconnecting"], [T0 + 6500, "online"]], acked: [] }));
    const report = buildReport(facts({ devices: 5, restart: { at: T0 + 6000, listeningAt: T0 + 6050 } }), devices, connects, received([]), []);
    assert.equal(report.connects.peakPerSecond, 5);
    assert.equal(report.connects.peakAfterFirstWave, 3);
    assert.equal(report.connects.peakReconnectWave, 3);
    assert.equal(report.online.backAfterRestart, 5);
    assert.equal(report.run.standInDownMs, 50);
  });

  describe("the backoff check", () => {
    // A JITP device as its connection loop logs it: two drops while provisioning, a session the
    // restart ends after 40 s (stable: the counter resets), then a retry.
    const lines: [number, string][] = [
      [0, "connect: attempt 1 to x.iot (not provisioned yet)"],
      [300, "connect: attempt 1 ended (connection-reset): still provisioning; next attempt in 1400 ms"],
      [1700, "connect: attempt 2 to x.iot (not provisioned yet)"],
      [2000, "connect: attempt 2 ended (mqtt-closed-before-connack): still provisioning; next attempt in 2500 ms"],
      [4500, "connect: attempt 3 to x.iot (not provisioned yet)"],
      [4600, "connect: accepted on attempt 3 (session present: false)"],
      [4700, "connect: provisioned"],
      [44_600, "connect: attempt 3 ended (connection-reset after 40000 ms): network; next attempt in 1100 ms"],
      [45_700, "connect: attempt 4 to x.iot (provisioned)"],
    ];
    const record = (): AttemptRecord[] => {
      const attempts: AttemptRecord[] = [];
      for (const [t, line] of lines) recordAttemptLine(attempts, line, T0 + t);
      return attempts;
    };

    it("reads the device's attempts from its connection loop's lines", () => {
      assert.deepEqual(record().map(({ n, provisioned, accepted, code }) => ({ n, provisioned, accepted, code })), [
        { n: 1, provisioned: false, accepted: false, code: "connection-reset" },
        { n: 2, provisioned: false, accepted: false, code: "mqtt-closed-before-connack" },
        { n: 3, provisioned: false, accepted: true, code: "connection-reset" },
        { n: 4, provisioned: true, accepted: undefined, code: undefined },
      ]);
      assert.equal(record()[2].sessionMs, 40_000);
    });

    it("holds every retry to its attempt's end plus the spacing, and finds the smallest margin", () => {
      const check = checkBackoff([{ thing: "d", attempts: record() }], POLICY);
      assert.deepEqual({ ...check, violations: check.violations.length }, { devices: 1, retries: 3, violations: 0, smallestMarginMs: 100 });
    });

    it("names a retry that came sooner than the backoff allows", () => {
      // Attempt 3 starts 800 ms after attempt 2 ended: the spacing alone asks for 1,000 ms.
      const attempts = record();
      attempts[2].startedAt = T0 + 2800;
      const check = checkBackoff([{ thing: "d", attempts }], POLICY);
      assert.deepEqual(check.violations, [{ thing: "d", attempt: 3, intervalMs: 1100, boundMs: 1300 }]);
      assert.equal(check.smallestMarginMs, -200);
      const report = buildReport(facts({ devices: 1 }), [device("d", { attempts })], [], received(["d#1", "d#2"]), []);
      assert.equal(report.checks["no device retried sooner than its backoff allows"], false);
      assert.equal(report.connects.backoff.violationCount, 1);
      assert.equal(report.ok, false);
    });

    it("fails when a device the stand-in saw connect has no attempt in its own record", () => {
      const report = buildReport(facts({ devices: 1 }), [device("d", { attempts: [] })], [[T0 + 100, "d", true, ""]], received(["d#1", "d#2"]), []);
      assert.deepEqual(report.connects.backoff.unrecorded, ["d"]);
      assert.equal(report.checks["no device retried sooner than its backoff allows"], false);
    });

    it("waits the full cap once a takeover is suspected (three short sessions)", () => {
      const attempts: AttemptRecord[] = [0, 1, 2, 3].map((k) => ({
        n: k + 1, startedAt: T0 + k * 5000, provisioned: true, endedAt: T0 + k * 5000 + 2000, code: "connection-reset", accepted: true, sessionMs: 1500,
      }));
      // The fourth attempt 3 s after the third ended: the takeover's 60 s wait was due.
      const check = checkBackoff([{ thing: "d", attempts }], POLICY);
      assert.deepEqual(check.violations, [{ thing: "d", attempt: 4, intervalMs: 5000, boundMs: 62_000 }]);
      assert.equal(check.retries, 3);
    });
  });
});

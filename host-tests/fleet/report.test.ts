// The fleet report's figures from hand-made records: what counts as a CONNECT pair under 1 s, a
// lost message, a device's CONNECTs over its client ids, and the waves' peaks.
import assert from "node:assert/strict";
import { ACCOUNT_LIMITS } from "../../host/iotcore/index.js";
import { buildReport, percentile, type DeviceRecord, type RunFacts } from "../../host/fleet/report.js";
import type { ConnectRecord } from "../../host/fleet/standin.js";

const T0 = 1_000_000;

function facts(overrides: Partial<RunFacts> = {}): RunFacts {
  return {
    devices: 2, provisioning: "jitp", mode: "mtls", engine: "node", durationS: 10, seed: 1, telemetryIntervalMs: 1000, provisioningAttempts: 10,
    startedAt: T0, endedAt: T0 + 10_000, limits: { ...ACCOUNT_LIMITS }, standIn: { cpuMs: 1, peakRssBytes: 1, peakHeapUsedBytes: 1 }, runner: { cpuMs: 1, peakRssBytes: 1 },
    onlineSamples: [], ...overrides,
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
});

// The fleet scenario at the size CI affords: 50 JITP devices of the unchanged firmware power on
// at once against the stand-in (its own process, AWS's account limits), the stand-in's process
// restarts in the middle, and the run's own report must show the correctness figures: every
// device online (again), no acknowledged message lost, no device with two CONNECTs within 1 s,
// no retry sooner than the device's backoff allows, duplicates counted. Times are reported, not asserted (`npm run fleet` measures them).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runFleet } from "../../host/fleet/run.js";
import type { FleetReport } from "../../host/fleet/report.js";

const STATE = join(import.meta.dirname, "..", "..", ".state", "test-fleet");

describe("a fleet of 50 JITP devices across a stand-in restart", function () {
  // Key generation on the first run (cached afterwards), 42 s of fleet, the drain at the end.
  this.timeout(120_000);
  let report: FleetReport;
  const out = join(STATE, "report");

  before(async () => {
    // The AWS SDK's notice about Node 22 would only bury the test's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    report = await runFleet({
      devices: 50, provisioning: "jitp", mode: "mtls", durationS: 42, restartAtS: 16, state: STATE, out,
      xsDevices: 0, limits: {}, telemetryIntervalMs: 1000, seed: 7, provisioningDelayMs: 1000, say: () => undefined,
    });
  });

  it("brings every device online, and back online after the restart", () => {
    assert.equal(report.online.everOnline, 50, JSON.stringify(report.online));
    assert.equal(report.online.onlineAtEnd, 50, JSON.stringify(report.online.notOnline));
    assert.equal(report.online.backAfterRestart, 50);
  });

  it("loses no acknowledged message, and counts the duplicates the subscriber saw", () => {
    const t = report.telemetry;
    assert.ok(t.acknowledged > 50 * 20, `only ${t.acknowledged} messages acknowledged`);
    assert.equal(t.lost, 0, JSON.stringify(t.lostSamples));
    assert.ok(t.received >= t.acknowledged);
    assert.equal(typeof t.duplicated, "number");
  });

  it("never sees two CONNECTs of one device within 1 s", () => {
    assert.deepEqual(report.connects.under1s, []);
    assert.ok(report.connects.shortestIntervalMs! >= 1000);
    // Provisioning, then one session before and one after the restart: at least 3 CONNECTs each.
    assert.ok(report.connects.perDevice.p50 >= 3, JSON.stringify(report.connects.perDevice));
  });

  it("never sees a device retry sooner than its backoff allows", () => {
    const b = report.connects.backoff;
    assert.equal(b.devices, 50);
    // Every device retried at least twice (provisioning, the restart): its retries were all checked.
    assert.ok(b.retries >= 100, `only ${b.retries} retries checked`);
    assert.deepEqual(b.violations, []);
    assert.deepEqual(b.unrecorded, []);
    assert.ok(b.smallestMarginMs! >= 0);
  });

  it("writes report.json and the SVG chart", () => {
    assert.deepEqual(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).checks, report.checks);
    assert.ok(existsSync(join(out, "report.svg")));
    assert.match(readFileSync(join(out, "report.svg"), "utf8"), /<svg [^>]*>.*CONNECT requests per second/s);
    assert.equal(report.ok, true, JSON.stringify(report.checks));
  });
});

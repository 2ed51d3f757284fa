import assert from "node:assert/strict";
import mqtt from "mqtt";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { layout } from "../../certs/commands.js";
import { bootDevice, runDevice, startBench, type Bench, type RunningDevice } from "./device-run.js";

describe("boot to telemetry through JITP/JITR against the stand-in over TLS", function () {
  this.timeout(30_000);
  let bench: Bench;
  const devices: RunningDevice[] = [];
  const run = async (...args: Parameters<typeof runDevice>) => {
    const d = await runDevice(...args);
    devices.push(d);
    return d;
  };

  before(async () => { bench = await startBench({ provisioningDelayMs: 150 }); });
  afterEach(() => { for (const d of devices.splice(0)) d.device.stop(); });
  after(async () => { await bench.close(); });

  it("takes a fresh JITP device to acknowledged telemetry in exactly two connection attempts", async () => {
    const d = await run(bench, { provisioning: "jitp" });
    await d.until(() => d.acked.size >= 2, 15_000, "two acknowledged messages");
    assert.equal(d.device.attempts, 2);
    assert.ok(d.device.provisioned);
    assert.deepEqual(d.statuses.map((s) => s.state).slice(0, 3), ["connecting", "provisioning", "online"]);
    assert.ok(!bench.coreLog.some((l) => l.includes(d.setup.thingName) && /more than 1 CONNECT per second/.test(l)));
  });

  it("remembers that it is provisioned, so after a reboot it connects at the first attempt", async () => {
    const first = await run(bench, { provisioning: "jitp" });
    await first.until(() => first.acked.size >= 1, 15_000, "telemetry");
    first.device.stop();
    await new Promise((wake) => setTimeout(wake, 1100)); // AWS's one CONNECT per second per client id
    const again = bootDevice(bench, first.setup);
    devices.push(again);
    await again.until(() => again.acked.size >= 1, 15_000, "telemetry after the reboot");
    assert.equal(again.device.attempts, 1);
    assert.ok(again.lines.some((l) => /provisioned before \(remembered\)/.test(l)));
  });

  it("activates a JITR device through the topic rule and function, with the same loop", async () => {
    const d = await run(bench, { provisioning: "jitr" });
    await d.until(() => d.acked.size >= 1, 20_000, "telemetry after JITR activation");
    assert.ok(d.device.attempts >= 2 && d.device.attempts <= 5, `attempts ${d.device.attempts}`);
    assert.ok(d.device.provisioned);
  });

  it("ends in a clear status, not a loop, when the certificate lacks a template field", async () => {
    const d = await run(bench, {
      provisioning: "jitp", templateFields: ["country", "organization"], subject: { country: "JP" },
      config: { provisioningAttempts: 3, backoffCapMs: 1000 },
    });
    const status = await d.finalStatus(20_000);
    assert.equal(status.state, "gave-up");
    assert.equal(status.code, "provisioning-timeout");
    assert.match(status.message, /template's parameters/);
    assert.equal(d.device.attempts, 3);
    assert.ok(bench.coreLog.some((l) => /Organization/i.test(l)), "the stand-in names the missing field");
  });

  it("reports a takeover by another client with the same id and keeps its attempts bounded", async () => {
    const d = await run(bench, {
      provisioning: "none",
      config: { stableSessionMs: 5000, takeoverThreshold: 3, backoffCapMs: 3000 },
    });
    await d.until(() => d.device.status.state === "online", 10_000, "online");
    const files = layout(join(bench.dir, "dev", "default", "none")).device(d.setup.thingName);
    const other = mqtt.connect({
      protocol: "mqtts", host: "127.0.0.1", port: bench.core.ports.mqtt, servername: bench.core.endpoint,
      ca: bench.core.serverCaPem, cert: readFileSync(files.certPem), key: readFileSync(files.keyPem),
      clientId: d.setup.thingName, reconnectPeriod: 1000, connectTimeout: 5000,
    });
    other.on("error", () => {});
    try {
      await d.until(() => d.statuses.some((s) => s.state === "takeover"), 20_000, "a takeover report");
      const atReport = d.device.attempts;
      await new Promise((wake) => setTimeout(wake, 4000));
      assert.ok(d.device.attempts - atReport <= 3, `attempts went from ${atReport} to ${d.device.attempts} in 4 s`);
      assert.equal(d.statuses.filter((s) => s.state === "takeover").length, 1);
      assert.match(d.statuses.find((s) => s.state === "takeover")!.message, /no other device uses this certificate or client id/);
    } finally {
      other.end(true);
    }
  });
});

describe("boot to telemetry when JITP is slow", function () {
  this.timeout(30_000);
  let bench: Bench;
  let d: RunningDevice | undefined;

  before(async () => { bench = await startBench({ provisioningDelayMs: 3500 }); });
  after(async () => { d?.device.stop(); await bench.close(); });

  it("keeps retrying with spaced, bounded attempts until the certificate is provisioned", async () => {
    d = await runDevice(bench, { provisioning: "jitp", config: { backoffBaseMs: 1000, backoffCapMs: 2000 } });
    await d.until(() => d!.acked.size >= 1, 20_000, "telemetry after slow provisioning");
    // 3.5 s of provisioning with at least 1 s between attempts: 3 to 6 attempts.
    assert.ok(d.device.attempts >= 3 && d.device.attempts <= 6, `attempts ${d.device.attempts}`);
    assert.ok(!bench.coreLog.some((l) => /more than 1 CONNECT per second/.test(l)), "the stand-in never throttled a CONNECT");
    const provisioning = d.statuses.filter((s) => s.state === "provisioning");
    assert.equal(provisioning.length, d.device.attempts - 1);
  });
});

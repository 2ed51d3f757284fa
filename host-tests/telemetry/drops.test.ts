import assert from "node:assert/strict";
import { runDevice, startBench, type Bench, type RunningDevice } from "../provisioning/device-run.js";

describe("telemetry across injected drops (stand-in over TLS)", function () {
  this.timeout(120_000);
  let bench: Bench;
  let d: RunningDevice | undefined;

  before(async () => { bench = await startBench({ provisioningDelayMs: 100 }); });
  after(async () => { d?.device.stop(); await bench.close(); });

  it("loses no QoS 1 message and duplicates only what at-least-once allows through 20 drops", async () => {
    const maxInFlight = 10;
    d = await runDevice(bench, {
      provisioning: "none",
      config: { telemetryIntervalMs: 200, drainPerSecond: 50, maxInFlight, queueLimit: 1000, backoffCapMs: 1500, takeoverThreshold: 1000 },
    });
    const device = d;
    const topic = `${device.setup.thingName}/telemetry`;
    const deliveries = new Map<number, number>();
    bench.core.broker.onMessage((m) => {
      if (m.topic !== topic) return;
      const seq = (JSON.parse(m.payload.toString("utf8")) as { seq: number }).seq;
      deliveries.set(seq, (deliveries.get(seq) ?? 0) + 1);
    });
    const clientId = device.setup.thingName;
    const progress = async (what: string) => {
      const before = device.acked.size;
      await device.until(() => device.acked.size >= before + 2, 20_000, `acknowledged telemetry after ${what}`);
    };
    await progress("start");

    let drops = 0;
    let pubackDrops = 0;
    while (drops < 20) {
      const step = drops % 4;
      if (step === 0) {
        bench.core.faults.drop("before-puback", { clientId });
        pubackDrops += 1;
        drops += 1;
      } else if (step === 1) {
        await bench.core.faults.restart();
        drops += 1;
      } else {
        // A restart, and the reconnect that follows dropped right after its CONNECT.
        bench.core.faults.drop("after-connect", { clientId });
        await bench.core.faults.restart();
        drops += 2;
      }
      await progress(`drop ${drops}`);
    }
    const faultLines = bench.coreLog.filter((l) => l.startsWith("fault: dropping") && l.includes(clientId)).length;
    assert.equal(faultLines, pubackDrops + 5, "every armed fault fired");

    await device.until(() => device.device.telemetry.acked === device.device.telemetry.produced, 20_000, "everything acknowledged");
    device.device.stop();
    const stats = device.device.telemetry;
    await new Promise((wake) => setTimeout(wake, 100));

    assert.equal(stats.dropped, 0);
    assert.ok(stats.produced > 50, `produced ${stats.produced}`);
    for (let seq = 1; seq <= stats.produced; seq += 1) {
      assert.ok(device.acked.has(seq), `seq ${seq} acknowledged`);
      assert.ok((deliveries.get(seq) ?? 0) >= 1, `seq ${seq} reached the subscriber`);
    }
    const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0);
    // A duplicate needs a PUBLISH the server took whose PUBACK was lost: at most the in-flight
    // window per connection lost after the server received it.
    assert.ok(duplicates <= (pubackDrops + 10) * maxInFlight, `duplicates ${duplicates}`);
    assert.ok(device.device.attempts >= 16, `attempts ${device.device.attempts}`);
  });
});

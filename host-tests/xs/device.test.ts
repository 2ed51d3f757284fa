import assert from "node:assert/strict";
import { join } from "node:path";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import { prepareDemo } from "../../host/cli/demo-setup.js";
import { runDeviceInXs, type XsDevice } from "../../host/runtime/xs/device.js";
import { startBench, type Bench } from "../provisioning/device-run.js";
import { waitFor } from "../support/wait.js";

describe("the whole device inside XS: JITP into telemetry against the stand-in", function () {
  this.timeout(30_000);
  let bench: Bench;
  let device: XsDevice | undefined;

  before(async () => {
    bench = await startBench({ provisioningDelayMs: 150 });
  });

  afterEach(async () => {
    await device?.stop();
    device = undefined;
  });

  after(async () => {
    await bench?.close();
  });

  it("provisions a fresh device in exactly two connection attempts and delivers acknowledged telemetry the broker saw", async () => {
    const thingName = `xs-dev-${process.pid}`;
    const setup = await prepareDemo(bench.core, {
      mode: "mtls", provisioning: "jitp", thingName,
      outDir: join(bench.dir, "dev"), iotcoreStateDir: join(bench.dir, "iotcore"),
      config: { telemetryIntervalMs: 200, backoffBaseMs: 1000, backoffCapMs: 2000 },
    });
    const atBroker = new Set<number>();
    bench.core.broker.onMessage((message) => {
      if (message.topic === `${thingName}/telemetry`) atBroker.add((JSON.parse(message.payload.toString("utf8")) as { seq: number }).seq);
    });
    const statuses: DeviceStatus[] = [];
    const acked = new Set<number>();
    const lines: string[] = [];
    let failure: Error | undefined;
    device = await runDeviceInXs({
      config: setup.config,
      credentialsImage: setup.image,
      storageDir: join(bench.dir, "storage", thingName),
      log: (line) => lines.push(line),
      onStatus: (status) => statuses.push(status),
      onAcked: (seq) => acked.add(seq),
      onFailure: (error) => (failure = error),
    });

    await waitFor("three acknowledged telemetry messages", () => acked.size >= 3 || failure !== undefined, 20_000);
    assert.equal(failure, undefined);
    const info = await device.info();
    assert.equal(info.attempts, 2);
    assert.equal(info.provisioned, true);
    assert.equal(info.status.state, "online");
    assert.deepEqual(statuses.map((s) => s.state).slice(0, 3), ["connecting", "provisioning", "online"]);
    await waitFor("the broker to route the acknowledged messages", () => [...acked].every((seq) => atBroker.has(seq)), 5_000);
    assert.ok(lines.some((line) => /^boot: clock: set/.test(line)), "the boot log came out of XS");
    await device.stop();
  });
});

// The firmware's jobs feature (manifests/features/jobs.json) against the stand-in's IoT Jobs, in
// both engines: jobs made with the control plane (CreateJob), followed with DescribeJobExecution.
import assert from "node:assert/strict";
import { startBench, startDevice, type Bench, type Engine, type JobsDevice } from "./firmware-device.js";

for (const engine of ["xs", "node"] as Engine[]) {
  describe(`jobs feature (firmware, ${engine}) with the stand-in's IoT Jobs`, function () {
    this.timeout(90_000);
    let bench: Bench;
    const devices: JobsDevice[] = [];
    before(async () => { bench = await startBench(); });
    afterEach(async () => { for (const d of devices.splice(0)) await d.stop(); });
    after(async () => { await bench.close(); });

    async function device(thing: string): Promise<JobsDevice> {
      const started = await startDevice(bench, engine, `${thing}-${engine}`, {});
      devices.push(started);
      return started;
    }

    it("applies a config job (SUCCEEDED, the reason in statusDetails) and rejects an operation it does not carry (REJECTED, with the reason)", async () => {
      const d = await device("jobs-config");
      await d.createJob(`cfg-${engine}`, { operation: "config", settings: { telemetryIntervalMs: 1500 } });
      await d.createJob(`odd-${engine}`, { operation: "self-destruct" });
      const config = await d.execution(`cfg-${engine}`);
      assert.equal(config.status, "SUCCEEDED", d.lines.join("\n"));
      assert.equal(config.statusDetails?.detailsMap?.reason, "applied telemetryIntervalMs=1500");
      assert.ok(d.lines.some((l) => /telemetry: sampling every 1500 ms/.test(l)), "applied at once");
      const odd = await d.execution(`odd-${engine}`);
      assert.equal(odd.status, "REJECTED");
      assert.equal(odd.statusDetails?.detailsMap?.reason, `operation "self-destruct" is not one this device carries (config, reboot)`);
    });

    it("reboots on a reboot job and reports SUCCEEDED once connected again", async () => {
      const d = await device("jobs-reboot");
      await d.createJob(`boot-${engine}`, { operation: "reboot" });
      const execution = await d.execution(`boot-${engine}`);
      assert.equal(execution.status, "SUCCEEDED", d.lines.join("\n"));
      assert.equal(execution.statusDetails?.detailsMap?.reason, "restarted and connected again");
      assert.equal(d.restarts, 1);
    });
  });
}

// The firmware's OTA feature (manifests/ota/mtls.json) against the stand-in's IoT Jobs and
// MQTT-based file delivery, in both engines: a 1 MiB signed image staged as a stream file,
// AWS's afr_ota job made with the control plane, the device restarted into the image.
import assert from "node:assert/strict";
import { sign } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateStreamCommand } from "@aws-sdk/client-iot";
import { createCodeSigner, type Issued } from "../../certs/pki.js";
import { appImage } from "../../host/runtime/app-image.js";
import { iotClient } from "../iotcore/helpers.js";
import { startBench, startDevice, type Bench, type Engine, type JobsDevice } from "./firmware-device.js";

const MIB = 1024 * 1024;
// Large blocks keep the test short: 32 blocks of 32 KiB, four (128 KiB, AWS's most per answer) per request.
const OTA_SETTINGS = { blockSize: 32 * 1024, blocksPerRequest: 4 };

for (const engine of ["xs", "node"] as Engine[]) {
  describe(`OTA (firmware, ${engine}) with the stand-in's Jobs and streams`, function () {
    this.timeout(120_000);
    let bench: Bench;
    let signer: Issued;
    let stranger: Issued;
    const devices: JobsDevice[] = [];
    before(async () => {
      bench = await startBench();
      signer = await createCodeSigner({ subject: { commonName: "OTA signer" } });
      stranger = await createCodeSigner({ subject: { commonName: "someone else" } });
    });
    afterEach(async () => {
      bench.core.faults.clear();
      for (const d of devices.splice(0)) await d.stop();
    });
    after(async () => { await bench.close(); });

    async function device(thing: string, config: Record<string, unknown> = {}): Promise<JobsDevice> {
      const started = await startDevice(bench, engine, `${thing}-${engine}`, {
        ota: true, codeSigners: [["code-signing.pem", signer.certDer]], config: { features: { ota: OTA_SETTINGS }, ...config },
      });
      devices.push(started);
      return started;
    }

    /** Puts `image` where the stand-in reads stream files and creates the stream (file 0). */
    async function stage(streamId: string, image: Uint8Array): Promise<void> {
      const dir = join(bench.dir, "iotcore", "s3", "ota");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${streamId}.bin`), image);
      await iotClient(bench.core).send(new CreateStreamCommand({
        streamId, files: [{ fileId: 0, s3Location: { bucket: "ota", key: `${streamId}.bin` } }], roleArn: `arn:aws:iam::${bench.core.accountId}:role/ota-stream`,
      }));
    }

    function otaDocument(streamId: string, image: Uint8Array, by: Issued = signer, certfile = "code-signing.pem") {
      const signature = sign("sha256", image, by.key.privateKeyPem).toString("base64");
      return { afr_ota: { protocols: ["MQTT"], streamname: streamId, files: [{ filepath: "/", filesize: image.length, fileid: 0, certfile, "sig-sha256-ecdsa": signature }] } };
    }

    it("delivers a 1 MiB signed image: written block by block, activated, the device restarts into it and the job SUCCEEDS with the new version", async () => {
      const d = await device("ota-good");
      const image = appImage("0.2.0", MIB);
      await stage(`fw-good-${engine}`, image);
      await d.createJob(`ota-good-${engine}`, otaDocument(`fw-good-${engine}`, image));
      const execution = await d.execution(`ota-good-${engine}`, undefined, 60_000);
      assert.equal(execution.status, "SUCCEEDED", d.lines.slice(-30).join("\n"));
      assert.equal(execution.statusDetails?.detailsMap?.firmware, "0.2.0");
      assert.equal(execution.statusDetails?.detailsMap?.reason, "image booted and connected: firmware 0.2.0");
      assert.equal(d.restarts, 1);
      assert.ok(d.lines.some((l) => /ota: image confirmed: firmware 0\.2\.0/.test(l)));
    });

    it("fails a tampered image and one signed by another key, each with the reason, and keeps running the old image", async () => {
      const d = await device("ota-bad");
      const image = appImage("0.3.0", MIB);
      const tampered = image.slice();
      tampered[700_000] ^= 0x40;
      await stage(`fw-tampered-${engine}`, tampered);
      await d.createJob(`ota-tampered-${engine}`, otaDocument(`fw-tampered-${engine}`, image));
      const first = await d.execution(`ota-tampered-${engine}`, undefined, 60_000);
      assert.equal(first.status, "FAILED", `${d.lines.length} lines: ${d.lines.slice(-60).join("\n")}`);
      assert.match(first.statusDetails?.detailsMap?.reason ?? "", /^signature check failed: the image \(sha256 [0-9a-f]{64}\) is not signed by the key of "code-signing\.pem"$/);
      await stage(`fw-stranger-${engine}`, image);
      await d.createJob(`ota-stranger-${engine}`, otaDocument(`fw-stranger-${engine}`, image, stranger));
      const second = await d.execution(`ota-stranger-${engine}`, undefined, 60_000);
      assert.equal(second.status, "FAILED", d.lines.slice(-40).join("\n"));
      assert.match(second.statusDetails?.detailsMap?.reason ?? "", /^signature check failed/);
      await d.createJob(`ota-certfile-${engine}`, otaDocument(`fw-stranger-${engine}`, image, stranger, "stranger.pem"));
      const third = await d.execution(`ota-certfile-${engine}`);
      assert.equal(third.status, "FAILED");
      assert.match(third.statusDetails?.detailsMap?.reason ?? "", /certfile "stranger\.pem" is not a code-signing certificate this device carries \(code-signing\.pem\)/);
      assert.equal(d.restarts, 0, "the old image still runs");
      await d.createJob(`cfg-after-${engine}`, { operation: "config", settings: { queueLimit: 20 } });
      assert.equal((await d.execution(`cfg-after-${engine}`)).status, "SUCCEEDED", "and still takes jobs");
    });

    it("resumes a download dropped by the connection at the first missing block, not at zero", async () => {
      const d = await device("ota-drop", { logLevel: "debug" });
      const image = appImage("0.4.0", MIB);
      await stage(`fw-drop-${engine}`, image);
      bench.core.faults.throttle(40); // slow enough to cut it mid-way
      await d.createJob(`ota-drop-${engine}`, otaDocument(`fw-drop-${engine}`, image));
      await d.execution(`ota-drop-${engine}`, (e) => e.statusDetails?.detailsMap?.step === "downloading", 60_000);
      await bench.core.faults.restart(); // every connection ends
      bench.core.faults.throttle(0);
      const execution = await d.execution(`ota-drop-${engine}`, undefined, 60_000);
      assert.equal(execution.status, "SUCCEEDED", d.lines.slice(-30).join("\n"));
      const lost = d.lines.findIndex((l) => /connection lost with blocks/.test(l));
      assert.ok(lost >= 0, "the drop happened during the download");
      const resumeAt = Number(/resuming at block (\d+)/.exec(d.lines[lost]!)![1]);
      assert.ok(resumeAt > 0, `${resumeAt} blocks were written before the drop`);
      const asked = d.lines.slice(lost).map((l) => /asking for blocks (\d+)\.\./.exec(l)).filter((m) => m).map((m) => Number(m![1]));
      assert.equal(asked[0], resumeAt, "the first request after the drop starts at the first missing block");
      assert.ok(asked.every((o) => o >= resumeAt), `no block before ${resumeAt} asked for again: ${asked.join(", ")}`);
    });

    it("rolls back an image that cannot connect within confirmWithinMs: the device restarts into the previous image, which reports the job FAILED", async () => {
      const d = await device("ota-rollback", { features: { ota: { ...OTA_SETTINGS, confirmWithinMs: 1500 } } });
      const image = appImage("0.5.0", 256 * 1024);
      await stage(`fw-rollback-${engine}`, image);
      // Every new connection is refused from now on: the session in place downloads the image,
      // but the image it boots cannot connect.
      bench.core.faults.drop("handshake", { count: 1000 });
      await d.createJob(`ota-rollback-${engine}`, otaDocument(`fw-rollback-${engine}`, image));
      for (const end = Date.now() + 30_000; d.restarts < 2 && Date.now() < end;) await new Promise((wake) => setTimeout(wake, 100));
      assert.equal(d.restarts, 2, d.lines.slice(-30).join("\n"));
      assert.ok(d.lines.some((l) => /ota: the new image had no session within 1500 ms: rolling back to the previous image/.test(l)));
      bench.core.faults.clear();
      const execution = await d.execution(`ota-rollback-${engine}`);
      assert.equal(execution.status, "FAILED", d.lines.slice(-30).join("\n"));
      assert.match(execution.statusDetails?.detailsMap?.reason ?? "", /the activated image did not stay: the device runs 0\.1\.0 again/);
    });
  });
}

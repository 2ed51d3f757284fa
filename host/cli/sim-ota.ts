// `npm run sim -- --ota`: the OTA story in the desktop simulator. The device is built with the
// OTA feature (manifests/features/ota.json) and carries a code-signing certificate in its
// credentials image; once its telemetry flows, an operator stages a signed 1 MiB app image as a
// stream file, creates AWS's afr_ota job for it with the control plane, and follows the job
// with DescribeJobExecution until it ends. The simulator writes the image to files in the
// device's folder, checks it with Moddable's own SHA-256 and ECDSA, and "boots" it by starting
// the firmware again in place (docs/ota.md).

import { sign } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateJobCommand, CreateStreamCommand, DescribeJobExecutionCommand, DescribeThingCommand, IoTClient } from "@aws-sdk/client-iot";
import { createCodeSigner } from "../../certs/pki.js";
import { decodeContainer } from "../../firmware/credentials/container.js";
import { encodeContainer } from "../../firmware/credentials/encode.js";
import { appImage } from "../runtime/app-image.js";
import { ROOT } from "../runtime/composition.js";

export const OTA_FEATURE_MANIFEST = join(ROOT, "manifests", "features", "ota.json");
/** The version the demo image declares. */
export const SIM_OTA_VERSION = "0.2.0-sim";
const CERTFILE = "code-signing.pem";

interface Core {
  controlUrl: string;
  region: string;
  accountId: string;
  accountKey: { accessKeyId: string; secretAccessKey: string };
}

export interface SimOta {
  /** The credentials image with the code-signing certificate added. */
  image: Uint8Array;
  /** The OTA feature's settings for the device's config. */
  settings: Record<string, unknown>;
  /** Stages the image and the job, follows it; resolves true when it SUCCEEDED with the new version. */
  run(say: (line: string) => void): Promise<boolean>;
}

export async function prepareSimOta(core: Core, stateDir: string, thingName: string, credentials: Uint8Array): Promise<SimOta> {
  const signer = await createCodeSigner({ subject: { commonName: "sim OTA signer" } });
  const contents = decodeContainer(credentials);
  if (!contents.ok) throw new Error(contents.failure.message);
  const encoded = encodeContainer({ ...contents.value, codeSigners: [[CERTFILE, signer.certDer]] });
  if (!encoded.ok) throw new Error(encoded.failure.message);
  const iot = new IoTClient({ region: core.region, endpoint: core.controlUrl, credentials: core.accountKey });
  return {
    image: encoded.value,
    settings: { blockSize: 16 * 1024, blocksPerRequest: 4 },
    async run(say) {
      const firmware = appImage(SIM_OTA_VERSION, 1024 * 1024);
      const streamId = `sim-fw-${Date.now().toString(36)}`;
      const bucket = join(stateDir, "s3", "ota");
      mkdirSync(bucket, { recursive: true });
      writeFileSync(join(bucket, `${streamId}.bin`), firmware);
      const signature = sign("sha256", firmware, signer.key.privateKeyPem).toString("base64");
      // JITP made the thing at the device's first connect.
      const { thingArn } = await iot.send(new DescribeThingCommand({ thingName }));
      await iot.send(new CreateStreamCommand({ streamId, files: [{ fileId: 0, s3Location: { bucket: "ota", key: `${streamId}.bin` } }], roleArn: `arn:aws:iam::${core.accountId}:role/ota-stream` }));
      const document = { afr_ota: { protocols: ["MQTT"], streamname: streamId, files: [{ filepath: "/", filesize: firmware.length, fileid: 0, certfile: CERTFILE, "sig-sha256-ecdsa": signature }] } };
      const jobId = `sim-ota-${Date.now().toString(36)}`;
      await iot.send(new CreateJobCommand({ jobId, targets: [thingArn!], document: JSON.stringify(document) }));
      say(`operator: CreateStream ${streamId} (1 MiB app image, version ${SIM_OTA_VERSION}), CreateJob ${jobId} (afr_ota, sig-sha256-ecdsa)`);
      let last = "";
      for (const end = Date.now() + 240_000; Date.now() < end;) {
        const { execution } = await iot.send(new DescribeJobExecutionCommand({ jobId, thingName }));
        const details = execution?.statusDetails?.detailsMap ?? {};
        const now = `${execution?.status} ${JSON.stringify(details)}`;
        if (now !== last) say(`operator: DescribeJobExecution ${jobId}: ${(last = now)}`);
        if (["SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"].includes(execution?.status ?? "")) {
          return execution?.status === "SUCCEEDED" && details.firmware === SIM_OTA_VERSION;
        }
        await new Promise((wake) => setTimeout(wake, 500));
      }
      say(`operator: job ${jobId} did not end within 240 s`);
      return false;
    },
  };
}

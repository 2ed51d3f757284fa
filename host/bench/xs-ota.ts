// The live XS heap while the firmware downloads an OTA image (host side of xs-ota.guest.ts):
// a 1 MiB signed image in 4 KiB blocks (the OTA feature's default), moved on 32 blocks per crank,
// the live heap slots read after each (after a gc). Deterministic: the same inputs give the same
// figures, so host-tests/xs/budgets.test.ts holds the growth to a budget.

import { sign } from "node:crypto";
import { createCodeSigner } from "../../certs/pki.js";
import { appImage } from "../runtime/app-image.js";
import { bundleForXs } from "../runtime/xs/bundle.js";
import { createHostPlatform } from "../runtime/xs/host-platform.js";
import { XsRuntime } from "../runtime/xs/runtime.js";

export interface OtaHeapFigures {
  imageBytes: number;
  blockSize: number;
  /** Live heap slots after the job started, then after each further 32 blocks. */
  heapSlots: number[];
  /** The most the live heap grew over its level after the first 32 blocks. */
  growth: number;
  /** The image was verified, activated and the device restarted into it. */
  completed: boolean;
}

const IMAGE_BYTES = 1024 * 1024;
const BLOCK = 4096;
const STEP = 32;

/** Runs the download in its own machine with its state under `dir`; rejects if XS fails. */
export async function measureOtaHeap(dir: string): Promise<OtaHeapFigures> {
  const signer = await createCodeSigner({ subject: { commonName: "bench signer" } });
  const image = appImage("0.2.0", IMAGE_BYTES);
  const signature = sign("sha256", image, signer.key.privateKeyPem).toString("base64");
  let completed = false;
  const runtime = await XsRuntime.start({
    script: await bundleForXs(new URL("./xs-ota.guest.ts", import.meta.url)),
    platform: createHostPlatform({ storageDir: dir, log: () => {} }),
    onReport(name, data) {
      if (name === "restarted") completed = true;
      if (name !== "block") return;
      const i = data.i as number;
      const p = Buffer.from(image.subarray(i * BLOCK, (i + 1) * BLOCK)).toString("base64");
      return { block: JSON.stringify({ c: "bench-ota", f: 0, l: BLOCK, i, p }) };
    },
  });
  try {
    const document = { afr_ota: { protocols: ["MQTT"], streamname: "bench-fw", files: [{ filepath: "/", filesize: IMAGE_BYTES, fileid: 0, certfile: "code-signing.pem", "sig-sha256-ecdsa": signature }] } };
    const heapSlots = [(await runtime.call("start", { document, blockSize: BLOCK, blocksPerRequest: 4, certificate: [...signer.certDer] })).meter.currentHeapCount];
    for (let done = 0; done < IMAGE_BYTES / BLOCK; done += STEP) heapSlots.push((await runtime.call("blocks", { blocks: STEP })).meter.currentHeapCount);
    const steady = heapSlots[1]!;
    return { imageBytes: IMAGE_BYTES, blockSize: BLOCK, heapSlots, growth: Math.max(...heapSlots.slice(1, -1)) - steady, completed };
  } finally {
    await runtime.close();
  }
}

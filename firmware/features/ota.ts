// The OTA feature: AWS's OTA job (`afr_ota`), added to the jobs agent's operations (this
// build's manifest includes manifests/features/jobs.json). The download, checks and activation
// are in features/ota/download.ts. After the restart into a new image, the image is confirmed
// once the device has a session again; one that cannot connect within `confirmWithinMs` is
// rolled back to the previous image (where the platform can) and the device restarts into it.

import type { Feature } from "./feature.js";
import { operations } from "./jobs/operations.js";
import { PENDING_KEY, runOta, type Download, type OtaSettings } from "./ota/download.js";
import { jsonObject } from "./runtime.js";

const ota: Feature = {
  name: "ota",
  settings: {
    // Bytes per block (AWS: 256 bytes to 128 KB; one block is what the device holds at a time).
    blockSize: [4096, [256, 131072]],
    // Blocks asked for in one GetStream request.
    blocksPerRequest: [4, [1, 64]],
    // A request unanswered this long is made again from the first missing block.
    answerTimeoutMs: [10_000, [500, 600_000]],
    // A new image that has no session this long after it booted is rolled back.
    confirmWithinMs: [300_000, [1000, 86_400_000]],
  },
  start(context) {
    const { platform, log } = context;
    const { storage, timers } = platform;
    let download: Download | undefined;
    let rollback: unknown;
    const replaced = storage.get(PENDING_KEY);
    if (replaced !== undefined) {
      log(`new image booted (firmware ${context.facts().firmware}, replacing ${String(replaced)}): confirmed once connected`);
      rollback = timers.setTimeout(() => {
        storage.remove(PENDING_KEY);
        const back = platform.update?.rollback();
        log(`the new image had no session within ${String(context.setting("confirmWithinMs"))} ms: ${back ? "rolling back to the previous image" : "this platform cannot roll back; it keeps running"}`, 2);
        if (back) platform.restart?.();
      }, context.setting("confirmWithinMs") as number);
    }
    const streams = `$aws/things/${context.thingName}/streams/+/`;
    const mine = (topic: string) => download && topic.startsWith(download.topic) ? download : undefined;
    context.subscribe(streams + "data/json", 0, (topic, payload) => mine(topic)?.block(jsonObject(payload) ?? {}));
    context.subscribe(streams + "rejected/json", 0, (topic, payload) => mine(topic)?.refused(jsonObject(payload) ?? {}));
    context.onSessionUp(() => {
      if (storage.get(PENDING_KEY) !== undefined) {
        timers.clearTimeout(rollback);
        storage.remove(PENDING_KEY);
        platform.update?.confirm();
        log(`image confirmed: firmware ${context.facts().firmware}`);
      }
      download?.sessionUp();
    });
    context.onSessionDown(() => download?.sessionDown());
    operations.afr_ota = (job) => {
      download?.stop();
      const setting = (name: keyof OtaSettings) => context.setting(name) as number;
      download = runOta(context, { blockSize: setting("blockSize"), blocksPerRequest: setting("blocksPerRequest"), answerTimeoutMs: setting("answerTimeoutMs") }, job);
      return download;
    };
    return { stop: () => download?.stop() };
  },
};

export default ota;

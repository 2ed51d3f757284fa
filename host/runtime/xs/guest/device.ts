// The device inside XS: the unchanged firmware's boot() on the bridged platform. Entry of the
// bundle that `runDeviceInXs` runs, composed by a manifest (one mode or all of them, its
// features); statuses and acknowledgements go back to the host.

import { boot, type Device } from "../../../../firmware/boot/boot.js";
import { createXsPlatform, exposeCalls, report } from "./bridge.js";
// The features the manifest the bundle was composed with names (host/runtime/composition.ts).
import { features, startFeatures } from "composition:features";

const platform = createXsPlatform();
let device: Device | undefined;

exposeCalls({
  /** args: { config, resourceName }; parts: [credentials image] when there is one. */
  boot(args, parts) {
    const image = parts[0];
    device = boot(platform, {
      config: args.config,
      credentialSources: { resource: (name) => (image && name === args.resourceName ? image : undefined) },
      features,
      startFeatures,
    }, {
      onStatus: (status) => void report("status", { ...status }),
      onAcked: (seq) => void report("acked", { seq }),
    });
  },
  info() {
    if (!device) return { result: null };
    return { result: { status: device.status, attempts: device.attempts, provisioned: device.provisioned, telemetry: device.telemetry } };
  },
  stop() {
    device?.stop();
  },
});

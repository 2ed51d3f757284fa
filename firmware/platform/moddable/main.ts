// The Moddable entry: builds the Platform from the Moddable bindings, makes sure the clock is
// set (Moddable's network setup connects Wi-Fi and asks SNTP on the board; the desktop
// simulator has the host's time) and starts the firmware's boot sequence.

import "./globals.js";
import config from "mc/config";
import Modules from "modules";
import { boot } from "../../boot/boot.js";
import type { Feature } from "../../features/feature.js";
import { PARTITION_NAME } from "../../credentials/format.js";
import { syncClock } from "./clock.js";
import { flashPartition } from "./flash.js";
import { moddablePlatform } from "./platform.js";
import { resourceLookup } from "./resource.js";

const platform = moddablePlatform(config.preferenceDomain ?? "iotcore");
const log = platform.log;

// The features the manifest names (keys of config.features), each built as module
// features/<name>; one named but not built is left out, and boot refuses the config for it.
const features: Feature[] = [];
for (const name in config.features ?? {}) {
  const specifier = "features/" + name;
  if (Modules.has(specifier)) features.push(Modules.importNow(specifier) as Feature);
}

syncClock(config.sntp, log, () => {
  boot(platform, {
    config,
    credentialSources: { partition: flashPartition(config.partition ?? PARTITION_NAME), resource: resourceLookup },
    features,
  }, {
    onStatus(status) {
      log(`status: ${status.state}${status.code ? ` (${status.code})` : ""}: ${status.message}`);
    },
    onAcked(seq) {
      log(`telemetry: #${seq} acknowledged`);
    },
  });
});

// The Moddable entry: builds the Platform from the Moddable bindings, makes sure the clock is
// set (Moddable's network setup connects Wi-Fi and asks SNTP on the board; the desktop
// simulator has the host's time) and starts the firmware's boot sequence.

import "./globals.js";
import config from "mc/config";
import { boot } from "../../boot/boot.js";
import { PARTITION_NAME } from "../../credentials/format.js";
import { syncClock } from "./clock.js";
import { flashPartition } from "./flash.js";
import { moddablePlatform } from "./platform.js";
import { resourceLookup } from "./resource.js";

const platform = moddablePlatform(config.preferenceDomain ?? "iotcore");
const log = platform.log;

syncClock(config.sntp, log, () => {
  boot(platform, {
    config,
    credentialSources: { partition: flashPartition(config.partition ?? PARTITION_NAME), resource: resourceLookup },
  }, {
    onStatus(status) {
      log(`status: ${status.state}${status.code ? ` (${status.code})` : ""}: ${status.message}`);
    },
    onAcked(seq) {
      log(`telemetry: #${seq} acknowledged`);
    },
  });
});

// The Moddable entry: builds the Platform from the Moddable bindings, makes sure the clock is
// set (Moddable's network setup connects Wi-Fi and asks SNTP on the board; the desktop
// simulator has the host's time) and starts the firmware's boot sequence.

import "./globals.js";
import config from "mc/config";
import Modules from "modules";
import { boot } from "../../boot/boot.js";
import type { Feature, StartFeatures } from "../../features/feature.js";
import { PARTITION_NAME } from "../../credentials/format.js";
import { syncClock } from "./clock.js";
import { flashPartition } from "./flash.js";
import { moddablePlatform } from "./platform.js";
import { resourceLookup } from "./resource.js";
import type startMemoryProbe from "./memory.js";
import type updateSlot from "./update.js";
import type { Device } from "../../boot/boot.js";

const platform = moddablePlatform(config.preferenceDomain ?? "iotcore");
const log = platform.log;

// The features the manifest names (keys of config.features), each built as module
// features/<name>; one named but not built is left out, and boot refuses the config for it.
const features: Feature[] = [];
for (const name in config.features ?? {}) {
  const specifier = "features/" + name;
  if (Modules.has(specifier)) features.push(Modules.importNow(specifier) as Feature);
}
// The feature runtime, which the feature manifests list beside their features.
const runtime = "features/runtime";
const startFeatures = features.length && Modules.has(runtime) ? Modules.importNow(runtime) as StartFeatures : undefined;

// The update slot (ESP32 builds with OTA, manifests/features/ota.json) and the restart (ESP32
// builds with jobs); without the latter a restart boots the firmware again in place, Preference
// kept (the desktop simulator cannot reset itself).
const updateModule = "platform/moddable/update";
if (Modules.has(updateModule)) platform.update = (Modules.importNow(updateModule) as typeof updateSlot)();
const restartModule = "platform/moddable/restart";
let device: Device | undefined;
platform.restart = Modules.has(restartModule) ? Modules.importNow(restartModule) as () => void : () => void platform.timers.setTimeout(() => {
  log("restart: the firmware boots again in place (simulated: this platform cannot reset), Preference kept");
  device?.stop();
  start();
}, 0);

// Measurement builds (manifests/memory.json) carry the memory probe: figures at boot, at the end
// of the first TLS handshake, at the first CONNACK and after 20 acknowledged messages.
const MEASURED_MESSAGES = 20;
const probeModule = "platform/moddable/memory";
const memory = config.memory && Modules.has(probeModule) ? (Modules.importNow(probeModule) as typeof startMemoryProbe)(log) : undefined;
if (memory) {
  const open = platform.openTransport;
  let handshakes = 0;
  // The events object may keep its methods on a prototype: delegate each one, no spread.
  platform.openTransport = (options, events) => open(options, {
    onOpen(info) {
      if (++handshakes === 1) memory.mark("tls-handshake");
      events.onOpen(info);
    },
    onData: (bytes) => events.onData(bytes),
    onClose: (failure) => events.onClose(failure),
  });
}
let online = false;
let acked = 0;

syncClock(config.sntp, log, start);

function start(): void {
  memory?.mark("boot");
  device = boot(platform, {
    config,
    credentialSources: { partition: flashPartition(config.partition ?? PARTITION_NAME), resource: resourceLookup },
    features,
    startFeatures,
  }, {
    onStatus(status) {
      log(`status: ${status.state}${status.code ? ` (${status.code})` : ""}: ${status.message}`);
      if (status.state === "online" && !online) {
        online = true;
        memory?.mark("connack");
      }
    },
    onAcked(seq) {
      // The figures first: a host that stops at the 20th acknowledgement still reads them.
      if (++acked === MEASURED_MESSAGES) memory?.mark(`telemetry-${MEASURED_MESSAGES}`);
      log(`telemetry: #${seq} acknowledged`);
    },
  });
}

// The XS section of `npm run bench`: xsnap meter figures (deterministic), ours beside
// Moddable's classic `mqtt` module when $MODDABLE points at an SDK.

import type { BenchSection, Figure } from "./section.js";
import { measureXs, type MqttFigures } from "./xs-bench.js";

const MQTT_ROWS: [keyof MqttFigures, string, string][] = [
  ["connect", "XS connect (CONNECT to CONNACK handled)", "computrons"],
  ["publish0", "XS publish QoS 0, 100 B", "computrons"],
  ["publish1", "XS publish QoS 1 with its PUBACK, 100 B", "computrons"],
  ["inbound0", "XS inbound PUBLISH QoS 0 to the handler", "computrons"],
  ["inbound0LongTopic", "XS inbound PUBLISH QoS 0, topic 101 bytes longer", "computrons"],
  ["inbound1", "XS inbound PUBLISH QoS 1 to the handler, PUBACK sent", "computrons"],
  ["heapSlots", "XS live heap slots of a connected client (after gc)", "slots"],
  ["minifiedBytes", "MQTT client minified", "bytes"],
];

export const xsSection: BenchSection = {
  name: "XS engine (xsnap meter, deterministic)",
  async run(log) {
    const figures = await measureXs();
    if (!figures.moddable) log("no Moddable SDK at $MODDABLE: the reference `mqtt` module is not measured");
    const rows: Figure[] = MQTT_ROWS.map(([key, name, unit]) => ({
      name,
      unit,
      ours: figures.mqtt[key],
      peer: figures.moddable && { name: "Moddable mqtt", value: figures.moddable[key] },
      higherIsBetter: false,
    }));
    rows.push(
      { name: "XS one telemetry cycle (sample, QoS 1 publish, PUBACK)", unit: "computrons", ours: figures.telemetryCycle, higherIsBetter: false },
      { name: "XS SigV4 presign of the WebSocket URL (hashing native)", unit: "computrons", ours: figures.presign, higherIsBetter: false },
      { name: "XS WebSocket framing of one message each way", unit: "computrons", ours: figures.websocketFraming, higherIsBetter: false },
      { name: "XS Device Shadow: one delta applied and reported (inbound PUBLISH to the report's PUBACK)", unit: "computrons", ours: figures.shadowDelta, higherIsBetter: false },
      { name: "XS Device Shadow: live heap slots one more delta leaves (after gc)", unit: "slots", ours: figures.shadowDeltaHeapSlots, higherIsBetter: false },
      { name: "XS OTA, 1 MiB in 4 KiB blocks: live heap slots once the job started (after gc)", unit: "slots", ours: figures.otaDownload.heapSlots[0]!, higherIsBetter: false },
      { name: `XS OTA: most the live heap grew over the download (read every 32 blocks: ${figures.otaDownload.heapSlots.join(", ")}${figures.otaDownload.completed ? "; verified, activated, restarted" : "; NOT completed"})`, unit: "slots", ours: figures.otaDownload.growth, higherIsBetter: false },
    );
    return rows;
  },
};

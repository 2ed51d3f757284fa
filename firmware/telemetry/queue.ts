// A sample of the offline queue (telemetry.ts keeps the MQTT modes' queue, https/post-queue.ts
// the HTTPS modes' one in Preference).

import type { Readings } from "./sensor.js";

export interface Sample {
  seq: number;
  ts: number;
  readings: Readings;
}

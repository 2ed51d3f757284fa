// What both host runtimes (Node: node/device.ts, XS: xs/device.ts) take to run a whole device.

import type { DeviceStatus } from "../../firmware/boot/status.js";

export interface DeviceOptions {
  /** The manifest-style config object boot() reads. */
  config: unknown;
  /** The credentials image, served as the Moddable resource `devcreds.bin`. */
  credentialsImage?: Uint8Array;
  /** The device's Preference store (and update slot) live here. */
  storageDir: string;
  /** Device log lines (boot steps, decisions). */
  log(line: string): void;
  onStatus?(status: DeviceStatus): void;
  onAcked?(seq: number): void;
  /** Called when the firmware restarted the device (a reboot job, an OTA image booted), before it boots again. */
  onRestart?(): void;
}

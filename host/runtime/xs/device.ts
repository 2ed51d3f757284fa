// Runs the whole device (boot -> provisioning -> telemetry) inside the real XS engine, with
// the network, timers, storage and crypto served by the host. `npm start -- --engine xs`.

import type { DeviceStatus } from "../../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../../firmware/credentials/format.js";
import type { TelemetryStats } from "../../../firmware/telemetry/telemetry.js";
import type { Clock, Timers } from "../../../firmware/platform/seam.js";
import { DEVELOPMENT_MANIFEST } from "../composition.js";
import { bundleForXs } from "./bundle.js";
import { createHostPlatform } from "./host-platform.js";
import { XsRuntime } from "./runtime.js";

export interface XsDeviceOptions {
  /** The manifest that composes the firmware (mode, features); default: the development build. */
  manifest?: string;
  /** The manifest-style config object boot() reads. */
  config: unknown;
  /** The credentials image, served as the Moddable resource `devcreds.bin`. */
  credentialsImage?: Uint8Array;
  /** The device's Preference store lives here. */
  storageDir: string;
  /** Device log lines (boot steps, decisions). */
  log(line: string): void;
  onStatus?(status: DeviceStatus): void;
  onAcked?(seq: number): void;
  /** Called once when XS fails (uncaught exception, crash): the run is over. */
  onFailure?(error: Error): void;
  /** A test's clock; real time when absent. */
  time?: Clock & Timers;
  random?: () => number;
}

export interface XsDeviceInfo {
  status: DeviceStatus;
  attempts: number;
  provisioned: boolean;
  telemetry: TelemetryStats;
}

export interface XsDevice {
  /** What the device reports about itself, asked inside XS. */
  info(): Promise<XsDeviceInfo>;
  /** Stops the device (DISCONNECT, timers off) and the engine; rejects if XS failed at any time. */
  stop(): Promise<void>;
  readonly runtime: XsRuntime;
}

const entry = new URL("./guest/device.ts", import.meta.url);

/** Bundles the firmware, starts it in an xsnap worker and boots it; rejects if that fails. */
export async function runDeviceInXs(options: XsDeviceOptions): Promise<XsDevice> {
  const platform = createHostPlatform({ storageDir: options.storageDir, log: options.log, random: options.random, time: options.time });
  const runtime = await XsRuntime.start({
    script: await bundleForXs(entry, { manifest: options.manifest ?? DEVELOPMENT_MANIFEST }),
    platform,
    onFailure: options.onFailure,
    onReport: (name, data) => {
      if (name === "status") options.onStatus?.(data as unknown as DeviceStatus);
      else if (name === "acked") options.onAcked?.(data.seq as number);
    },
  });
  const image = options.credentialsImage;
  await runtime.call("boot", { config: options.config, resourceName: RESOURCE_NAME }, image ? [image] : []);
  let stopped: Promise<void> | undefined;
  return {
    runtime,
    info: async () => (await runtime.call("info")).result as XsDeviceInfo,
    stop: () => {
      stopped ??= (async () => {
        if (!runtime.failure) await runtime.call("stop").catch(() => {});
        await runtime.idle();
        await runtime.close();
      })();
      return stopped;
    },
  };
}

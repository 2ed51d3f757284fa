// Runs the whole device (boot -> provisioning -> telemetry) inside the real XS engine, with
// the network, timers, storage and crypto served by the host. `npm start -- --engine xs`.

import type { DeviceStatus } from "../../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../../firmware/credentials/format.js";
import type { TelemetryStats } from "../../../firmware/telemetry/telemetry.js";
import type { Clock, Timers } from "../../../firmware/platform/seam.js";
import { DEVELOPMENT_MANIFEST } from "../composition.js";
import type { DeviceOptions } from "../device-options.js";
import { bundleForXs } from "./bundle.js";
import { createHostPlatform } from "./host-platform.js";
import { XsRuntime } from "./runtime.js";

export interface XsDeviceOptions extends DeviceOptions {
  /** The manifest that composes the firmware (mode, features); default: the development build. */
  manifest?: string;
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
  /** The engine the device runs in now (a restart starts a new one). */
  readonly runtime: XsRuntime;
  /** How many times the firmware restarted the device. */
  readonly restarts: number;
}

const entry = new URL("./guest/device.ts", import.meta.url);

/**
 * Bundles the firmware, starts it in an xsnap worker and boots it; rejects if that fails. A
 * restart the firmware asks for (`Platform.restart`) ends that engine as a power cut would (no
 * DISCONNECT; timers and sockets gone) and boots the firmware in a new one on the same storage
 * and update slot: RAM lost, Preference and the booted image kept.
 */
export async function runDeviceInXs(options: XsDeviceOptions): Promise<XsDevice> {
  let runtime: XsRuntime;
  let restarts = 0;
  let restarting: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  /** The engine was ended by a restart and no new one is up yet. */
  let down = false;
  const restart = async () => {
    await new Promise((wake) => setImmediate(wake)); // the guest's command returns first
    const old = runtime;
    down = true;
    await old.idle();
    await old.close();
    if (stopped) return;
    restarts++;
    options.onRestart?.();
    await start();
  };
  const platform = createHostPlatform({
    storageDir: options.storageDir, log: options.log, random: options.random, time: options.time,
    restart: () => {
      restarting ??= restart().catch((error: Error) => options.onFailure?.(error)).finally(() => (restarting = undefined));
    },
  });
  const script = await bundleForXs(entry, { manifest: options.manifest ?? DEVELOPMENT_MANIFEST });
  const image = options.credentialsImage;
  const start = async () => {
    runtime = await XsRuntime.start({
      script,
      platform,
      onFailure: options.onFailure,
      onReport: (name, data) => {
        if (name === "status") options.onStatus?.(data as unknown as DeviceStatus);
        else if (name === "acked") options.onAcked?.(data.seq as number);
      },
    });
    down = false;
    await runtime.call("boot", { config: options.config, resourceName: RESOURCE_NAME }, image ? [image] : []);
  };
  await start();
  return {
    get runtime() { return runtime; },
    get restarts() { return restarts; },
    info: async () => (await runtime.call("info")).result as XsDeviceInfo,
    stop: () => {
      stopped ??= (async () => {
        await restarting;
        if (down) return;
        if (!runtime.failure) await runtime.call("stop").catch(() => {});
        await runtime.idle();
        await runtime.close();
      })();
      return stopped;
    },
  };
}

// A fleet of the unchanged firmware in one process: each device is the composition `npm start
// -- --engine node` boots (or, for the first `xsDevices`, the same firmware inside its own XS
// engine), with its own credentials image, thing name, storage folder, seeded random source
// (the backoff's jitter) and a clock set off by its own seeded amount, as real devices' clocks
// are. The fleet reports each device's status changes and acknowledged telemetry.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../firmware/credentials/format.js";
import type { Platform } from "../../firmware/platform/seam.js";
import { loadComposition } from "../runtime/composition.js";
import { createNodePlatform } from "../runtime/node/platform.js";
import { runDeviceInXs } from "../runtime/xs/device.js";

export interface FleetDeviceSpec {
  /** the thing name the device has or gets (fleet provisioning: device-<serial>) */
  thingName: string;
  config: Record<string, unknown>;
  image: Uint8Array;
}

export interface FleetEvents {
  onStatus(device: number, status: DeviceStatus, at: number): void;
  onAcked(device: number, seq: number, at: number): void;
  /** a device's log line (those at its config's logLevel or above) */
  onLog(device: number, line: string): void;
}

export interface RunningDevice {
  readonly engine: "node" | "xs";
  /** samples taken and queued (MQTT modes), read at the end */
  telemetry(): Promise<{ produced: number; queued: number }>;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded generator, uniform in [0, 1); the same seed gives the same jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How far each device's clock is off, at most (either way). */
export const CLOCK_SKEW_MS = 2000;

/**
 * Boots every device of `specs` at once (a batch powering on) from the firmware `manifest`
 * composes; the first `xsDevices` run inside XS. Rejects if the firmware does not bundle or an
 * XS engine does not start.
 */
export async function bootFleet(specs: FleetDeviceSpec[], options: { manifest: string; storageDir: string; seed: number; xsDevices: number }, events: FleetEvents): Promise<RunningDevice[]> {
  const { boot, features, startFeatures } = await loadComposition(options.manifest);
  const devices: RunningDevice[] = [];
  for (const [index, spec] of specs.entries()) {
    const random = seededRandom(options.seed * 1_000_003 + index);
    const storageDir = join(options.storageDir, spec.thingName);
    mkdirSync(storageDir, { recursive: true });
    const log = (line: string) => events.onLog(index, line);
    const onStatus = (status: DeviceStatus) => events.onStatus(index, status, Date.now());
    const onAcked = (seq: number) => events.onAcked(index, seq, Date.now());
    if (index < options.xsDevices) {
      const device = await runDeviceInXs({ manifest: options.manifest, config: spec.config, credentialsImage: spec.image, storageDir, log, onStatus, onAcked, random,
        onFailure: (error) => onStatus({ state: "stopped", code: "xs-failure", message: `The XS engine failed: ${error.message}`, attempts: 0 }) });
      devices.push({ engine: "xs", telemetry: async () => (await device.info()).telemetry, stop: () => device.stop() });
      continue;
    }
    const skewMs = Math.round((random() * 2 - 1) * CLOCK_SKEW_MS);
    const host = createNodePlatform({ storageDir, log, random });
    const platform: Platform = { ...host, clock: { now: () => Date.now() + skewMs, isSet: () => true } };
    const device = boot(platform, {
      config: spec.config,
      credentialSources: { resource: (name) => (name === RESOURCE_NAME ? spec.image : undefined) },
      features,
      startFeatures,
    }, { onStatus, onAcked });
    devices.push({
      engine: "node",
      telemetry: async () => ({ produced: device.telemetry?.produced ?? 0, queued: device.telemetry?.queued ?? 0 }),
      stop: async () => device.stop(),
    });
  }
  return devices;
}

// Runs the real firmware (boot) under the Node platform against the local stand-in, for the
// boot-to-telemetry tests: one stand-in per suite, one fresh device per test.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boot, type Device } from "../../firmware/boot/boot.js";
import { isFinal, type DeviceStatus } from "../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../firmware/credentials/format.js";
import type { Feature } from "../../firmware/features/feature.js";
import { startFeatures } from "../../firmware/features/runtime.js";
import { prepareDemo, type DemoSetupOptions, type DemoSetup } from "../../host/cli/demo-setup.js";
import { startIotCore, type IotCore } from "../../host/iotcore/index.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";

export interface Bench {
  core: IotCore;
  dir: string;
  coreLog: string[];
  close(): Promise<void>;
}

export async function startBench(options: { provisioningDelayMs: number }): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), "boot-"));
  const coreLog: string[] = [];
  const core = await startIotCore({
    stateDir: join(dir, "iotcore"), host: "127.0.0.1", ports: { mqtt: 0, https: 0, control: 0 },
    provisioningDelayMs: options.provisioningDelayMs, log: (line) => coreLog.push(line),
  });
  return {
    core, dir, coreLog,
    async close() {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

export interface RunningDevice {
  setup: DemoSetup;
  device: Device;
  statuses: DeviceStatus[];
  acked: Set<number>;
  lines: string[];
  /** Resolves when `predicate` holds (checked on each status and ack), rejects after `ms`. */
  until(predicate: () => boolean, ms: number, what: string): Promise<void>;
  finalStatus(ms: number): Promise<DeviceStatus>;
}

/** A fresh device: new certificate, new storage; booted at once. */
export async function runDevice(bench: Bench, options: Partial<DemoSetupOptions> & { provisioning: DemoSetupOptions["provisioning"] }): Promise<RunningDevice> {
  counter += 1;
  const thingName = options.thingName ?? `dev-${process.pid}-${counter}`;
  const setup = await prepareDemo(bench.core, {
    mode: "mtls", outDir: join(bench.dir, "dev", options.templateFields?.join("-") ?? "default"),
    iotcoreStateDir: join(bench.dir, "iotcore"), thingName, ...options,
    config: { telemetryIntervalMs: 200, backoffBaseMs: 1000, backoffCapMs: 2000, ...options.config },
  });
  return bootDevice(bench, setup);
}

/** Boots the firmware for `setup`; the same setup again is a reboot (same storage, same credentials). */
export function bootDevice(bench: Bench, setup: DemoSetup, features: readonly Feature[] = []): RunningDevice {
  const thingName = setup.thingName;
  const lines: string[] = [];
  const statuses: DeviceStatus[] = [];
  const acked = new Set<number>();
  const waiters = new Set<() => void>();
  const poke = () => { for (const w of waiters) w(); };
  const platform = createNodePlatform({ storageDir: join(bench.dir, "storage", thingName), log: (line) => lines.push(line) });
  const device = boot(platform, {
    config: setup.config,
    credentialSources: { resource: (name) => (name === RESOURCE_NAME ? setup.image : undefined) },
    features,
    startFeatures,
  }, {
    onStatus: (s) => { statuses.push(s); poke(); },
    onAcked: (seq) => { acked.add(seq); poke(); },
  });
  const until = (predicate: () => boolean, ms: number, what: string) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}; status ${JSON.stringify(device.status)}; telemetry ${JSON.stringify(device.telemetry)}; acked ${acked.size}\n${lines.slice(-40).join("\n")}`));
    }, ms);
    waiters.add(check);
    check();
  });
  return {
    setup, device, statuses, acked, lines, until,
    async finalStatus(ms: number) {
      await until(() => isFinal(device.status.state), ms, "a final status");
      return device.status;
    },
  };
}

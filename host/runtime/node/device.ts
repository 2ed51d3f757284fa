// Runs the whole device under Node: the firmware a manifest composes, booted on the Node
// platform, with restarts as the XS runtime does them (host/runtime/xs/device.ts): a restart the
// firmware asks for ends the running device as a power cut would (no DISCONNECT) and boots the
// firmware again on the same storage and update slot.

import type { Device } from "../../../firmware/boot/boot.js";
import { RESOURCE_NAME } from "../../../firmware/credentials/format.js";
import { loadComposition } from "../composition.js";
import type { DeviceOptions } from "../device-options.js";
import { createNodePlatform } from "./platform.js";

export interface NodeDeviceOptions extends DeviceOptions {
  /** The manifest that composes the firmware (mode, features). */
  manifest: string;
}

export interface NodeDevice {
  /** The device running now (a restart boots a new one). */
  readonly device: Device;
  readonly restarts: number;
  stop(): Promise<void>;
}

/** Bundles the firmware `manifest` composes and boots it; rejects when the bundle does not build. */
export async function runDeviceInNode(options: NodeDeviceOptions): Promise<NodeDevice> {
  const { boot, features, startFeatures } = await loadComposition(options.manifest);
  let device: Device;
  let restarts = 0;
  let stopped = false;
  let connections: { close(): void }[] = [];
  const host = createNodePlatform({ storageDir: options.storageDir, log: options.log, restart: () => void setImmediate(restart) });
  const start = () => {
    // The sockets this boot opens, so that a restart can cut them as a reset would.
    const mine: { close(): void }[] = connections = [];
    const platform = { ...host, openTransport: ((tls, events) => {
      const transport = host.openTransport(tls, events);
      mine.push(transport);
      return transport;
    }) as typeof host.openTransport };
    device = boot(platform, {
      config: options.config,
      credentialSources: { resource: (name) => (name === RESOURCE_NAME ? options.credentialsImage : undefined) },
      features,
      startFeatures,
    }, { onStatus: options.onStatus, onAcked: options.onAcked });
  };
  function restart(): void {
    if (stopped) return;
    // A reset, not a stop: no DISCONNECT (the broker sends the last will), timers die with the device.
    for (const transport of connections) transport.close();
    device.stop();
    restarts++;
    options.onRestart?.();
    start();
  }
  start();
  return {
    get device() { return device; },
    get restarts() { return restarts; },
    async stop() {
      stopped = true;
      device.stop();
    },
  };
}

// XS figures from xsnap's meter: deterministic computrons and live heap slots for the hot
// paths, measured inside the real XS engine, beside Moddable's classic `mqtt` module (when
// $MODDABLE points at an SDK) driven the same way; plus minified sizes.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForXs, minifiedModuleSize, type BundleOptions } from "../runtime/xs/bundle.js";
import { createHostPlatform } from "../runtime/xs/host-platform.js";
import { XsRuntime } from "../runtime/xs/runtime.js";
import { measureOtaHeap, type OtaHeapFigures } from "./xs-ota.js";

/** The MQTT operations measured for both clients (computrons), and the connected client's slots. */
export interface MqttFigures {
  connect: number;
  publish0: number;
  publish1: number;
  inbound0: number;
  inbound0LongTopic: number;
  inbound1: number;
  heapSlots: number;
  minifiedBytes: number;
}

export interface XsFigures {
  mqtt: MqttFigures;
  /** Moddable's classic `mqtt` module, when an SDK was found. */
  moddable?: MqttFigures;
  telemetryCycle: number;
  presign: number;
  websocketFraming: number;
  /** The Device Shadow feature applying one delta: inbound PUBLISH to its report's PUBACK (computrons). */
  shadowDelta: number;
  /** Live heap slots one more applied delta leaves behind (after gc). */
  shadowDeltaHeapSlots: number;
  /** The live heap while the jobs and OTA features download a 1 MiB image. */
  otaDownload: OtaHeapFigures;
}

const here = (path: string) => new URL(path, import.meta.url);
const MODDABLE_IMPORTS = ["socket", "timer", "time", "websocket"];

/** The SDK's classic mqtt module under $MODDABLE, or undefined. */
export function moddableMqttPath(sdk = process.env.MODDABLE): string | undefined {
  const path = sdk && join(sdk, "modules/network/mqtt/mqtt.js");
  return path && existsSync(path) ? path : undefined;
}

/** Runs every measurement; rejects if a guest fails inside XS. `moddable`: path of its mqtt.js. */
export async function measureXs(moddable = moddableMqttPath()): Promise<XsFigures> {
  const dir = mkdtempSync(join(tmpdir(), "xs-bench-"));
  const machines: XsRuntime[] = [];
  try {
    const run = (entry: string, options?: BundleOptions) => inGuest(dir, here(entry), machines, options);
    const ours = await run("./xs-mqtt.guest.ts");
    const firmware = (await (await run("./xs-firmware.guest.ts"))("computrons")).result as Pick<XsFigures, "telemetryCycle" | "presign" | "websocketFraming" | "shadowDelta">;
    const shadowHeap = await run("./xs-firmware.guest.ts");
    const before = (await shadowHeap("shadowHeapBaseline")).meter.currentHeapCount;
    const shadowDeltaHeapSlots = (await shadowHeap("shadowHeapAfterDelta")).meter.currentHeapCount - before;
    const figures: XsFigures = {
      mqtt: await mqttFigures(ours, await minifiedModuleSize(here("../../firmware/mqtt/client.ts"))),
      ...firmware,
      shadowDeltaHeapSlots,
      otaDownload: await measureOtaHeap(join(dir, "ota")),
    };
    if (moddable) {
      const stubs = fileURLToPath(here("./xs-moddable-stubs.ts"));
      const alias = Object.fromEntries([["moddable-mqtt", moddable], ...MODDABLE_IMPORTS.map((name) => [name, stubs])]);
      const reference = await run("./xs-moddable.guest.ts", { alias });
      figures.moddable = await mqttFigures(reference, await minifiedModuleSize(moddable, MODDABLE_IMPORTS));
    }
    await Promise.all(machines.splice(0).map((machine) => machine.close()));
    return figures;
  } finally {
    for (const machine of machines) machine.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

type GuestCall = (fn: string) => Promise<{ result: unknown; meter: { currentHeapCount: number } }>;

/** Heap first, in a fresh machine, so nothing else the benchmark made is still alive. */
async function mqttFigures(call: GuestCall, minifiedBytes: number): Promise<MqttFigures> {
  const baseline = await call("heapBaseline");
  const connected = await call("heapConnected");
  const computrons = (await call("computrons")).result as Omit<MqttFigures, "heapSlots" | "minifiedBytes">;
  return {
    connect: computrons.connect,
    publish0: computrons.publish0,
    publish1: computrons.publish1,
    inbound0: computrons.inbound0,
    inbound0LongTopic: computrons.inbound0LongTopic,
    inbound1: computrons.inbound1,
    heapSlots: connected.meter.currentHeapCount - baseline.meter.currentHeapCount,
    minifiedBytes,
  };
}

/** Starts a guest in its own machine (added to `machines`); each returned call is one crank. */
async function inGuest(dir: string, entry: URL, machines: XsRuntime[], options?: BundleOptions): Promise<GuestCall> {
  const runtime = await XsRuntime.start({ script: await bundleForXs(entry, options), platform: createHostPlatform({ storageDir: dir, log: () => {} }) });
  machines.push(runtime);
  return (fn) => runtime.call(fn);
}

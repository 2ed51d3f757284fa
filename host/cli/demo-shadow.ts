// The operator's side of the demo's Device Shadow step: once telemetry flows, change the
// device's desired telemetry interval through the stand-in's iot-data API (SigV4-signed by
// AWS's own SDK client, as a backend would), watch the device report it, and read the final
// shadow for the summary.
import { mkdirSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { GetThingShadowCommand, IoTDataPlaneClient, UpdateThingShadowCommand } from "@aws-sdk/client-iot-data-plane";
import { modeManifest, ROOT } from "../runtime/composition.js";
import { isHttpsMode } from "./modes.js";

/** The Device Shadow feature's manifest fragment. */
export const SHADOW_FEATURE_MANIFEST = join(ROOT, "manifests", "features", "shadow.json");

/** The demo's devices carry the Device Shadow feature in the MQTT modes (an HTTPS mode has no MQTT session). */
export function demoHasShadow(mode: string): boolean {
  return !isHttpsMode(mode);
}

/**
 * Writes the demo device's manifest into `dir` and returns its path: the device build of `mode`
 * (manifests/modes/<mode>.json) with the Device Shadow feature (MQTT modes), as a device's own manifest
 * would include it. `extra` is merged in (the simulator adds its data and config), `includes`
 * are further manifests (the simulator's memory probe); `base` replaces the mode's manifest (a
 * fleet-provisioning build of the mode).
 */
export function writeDemoManifest(dir: string, mode: string, extra: Record<string, unknown> = {}, includes: readonly string[] = [], base = modeManifest(mode)): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "manifest.json");
  const features = demoHasShadow(mode) ? [SHADOW_FEATURE_MANIFEST] : [];
  writeFileSync(file, JSON.stringify({ include: [base, ...features, ...includes], ...extra }, null, "\t") + "\n");
  return file;
}

/** The interval the demo's operator asks for once telemetry flows (the demo device starts at 1000 ms). */
export const DEMO_DESIRED_INTERVAL_MS = 500;

export interface ShadowEndpoint {
  ports: { https: number };
  serverCaPem: string;
  region: string;
  broker: { onMessage(listener: (message: { topic: string; payload: Buffer }) => void): () => void };
}

export interface ShadowSummary {
  /** the shadow's version at the end, undefined when it has none */
  shadowVersion?: number;
  /** the interval the device reported (undefined when it never did) */
  appliedIntervalMs?: number;
}

export interface ShadowOperator {
  /** Sets `desired.telemetryIntervalMs`; resolves the shadow version the update made. */
  requestInterval(ms: number): Promise<number>;
  /** Resolves true once the device has reported `ms` as its interval, false after `timeoutMs`. */
  reported(ms: number, timeoutMs: number): Promise<boolean>;
  summary(): Promise<ShadowSummary>;
  close(): void;
}

/** An operator for `thing`'s classic shadow on the stand-in's data endpoint. */
export function shadowOperator(core: ShadowEndpoint, thing: string, credentials: { accessKeyId: string; secretAccessKey: string }): ShadowOperator {
  const client = new IoTDataPlaneClient({
    region: core.region,
    endpoint: `https://localhost:${core.ports.https}`,
    credentials,
    requestHandler: { httpsAgent: new Agent({ ca: core.serverCaPem }) },
  });
  const decoder = new TextDecoder();
  const reportedIntervals: number[] = [];
  const waiters = new Set<() => void>();
  const unsubscribe = core.broker.onMessage((message) => {
    if (message.topic !== `$aws/things/${thing}/shadow/update/accepted`) return;
    const interval = (JSON.parse(message.payload.toString("utf8")) as { state?: { reported?: { telemetryIntervalMs?: unknown } } }).state?.reported?.telemetryIntervalMs;
    if (typeof interval !== "number") return;
    reportedIntervals.push(interval);
    for (const wake of waiters) wake();
  });
  return {
    async requestInterval(ms) {
      const output = await client.send(new UpdateThingShadowCommand({ thingName: thing, payload: new TextEncoder().encode(JSON.stringify({ state: { desired: { telemetryIntervalMs: ms } } })) }));
      return (JSON.parse(decoder.decode(output.payload)) as { version: number }).version;
    },
    reported(ms, timeoutMs) {
      if (reportedIntervals.includes(ms)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (result: boolean) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(result);
        };
        const check = () => { if (reportedIntervals.includes(ms)) done(true); };
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(check);
      });
    },
    async summary() {
      try {
        const output = await client.send(new GetThingShadowCommand({ thingName: thing }));
        const shadow = JSON.parse(decoder.decode(output.payload)) as { version: number; state: { reported?: { telemetryIntervalMs?: number } } };
        return { shadowVersion: shadow.version, appliedIntervalMs: shadow.state.reported?.telemetryIntervalMs };
      } catch {
        return {};
      }
    },
    close() {
      unsubscribe();
      client.destroy();
    },
  };
}

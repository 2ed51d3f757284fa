// Power-on to telemetry, in order: config -> clock -> credentials -> connect -> provisioning ->
// telemetry. One log line per step and per decision; every stop is a status with a code and a
// sentence, never an exception and never a crash loop. The Node runtime, the XS runtime and
// the Moddable binding all call `boot()` with their Platform.

import { completeConfig, CONFIG_KEY, LOG_LEVELS, loadConfig, parseOverrides, type DeviceConfig } from "../config/config.js";
import { assembleConnection, findMode, validateConnectionConfig, type Session } from "../connection/config.js";
// The modes this build carries: the manifest maps `connection/mode` to one mode's module (or,
// in the development build, to the list of all of them).
import { modes } from "../connection/mode.js";
// The session those modes speak: the manifest maps `connection/session` (MQTT: connection/session.ts).
import { startSession } from "../connection/session.js";
import { loadCredentials, type CredentialSources } from "../credentials/load.js";
import { checkFeatureNames, type Feature, type StartFeatures } from "../features/feature.js";
import { clockUnset, ok, type Failure, type Result } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import { simulatedSensor, type Sensor } from "../telemetry/sensor.js";
import type { TelemetryStats } from "../telemetry/telemetry.js";
import { isFinal, type DeviceState, type DeviceStatus } from "./status.js";

/** Preference keys (ESP32 NVS: at most 15 characters). */
export { CONFIG_KEY };

export interface BootInput {
  /** The manifest's `config` object (Moddable's `mc/config`). Preference "config" overrides it. */
  config: unknown;
  /** Where the credentials image may live besides Preference. */
  credentialSources: CredentialSources;
  /** Default: the simulated sensor driven by `platform.random`. */
  sensor?: Sensor;
  /** The optional features the build carries (the platform entry loads those its manifest names). */
  features?: readonly Feature[];
  /** The feature runtime (features/runtime) that starts them; without it no feature is started. */
  startFeatures?: StartFeatures;
}

export interface BootEvents {
  onStatus?(status: DeviceStatus): void;
  /** A telemetry message was acknowledged (PUBACK). */
  onAcked?(seq: number): void;
}

export interface Device {
  readonly status: DeviceStatus;
  readonly telemetry: TelemetryStats;
  readonly attempts: number;
  readonly provisioned: boolean;
  /** DISCONNECT (no last will), stop sampling, cancel timers. Idempotent. */
  stop(): void;
}

const CLOCK_POLL_MS = 250;

/**
 * Starts the device and returns at once; progress is reported through `events.onStatus` and
 * `Device.status`. Stops with state "config-invalid", "clock-unset", "credentials-invalid",
 * "refused" or "gave-up" (each with a code and a sentence) instead of throwing.
 */
export function boot(host: Platform, input: BootInput, events: BootEvents = {}): Device {
  const features = input.features ?? [];
  let status: DeviceStatus = { state: "booting", message: "Booting.", attempts: 0 };
  let config: DeviceConfig | undefined;
  // Every module logs through this: lines below the config's logLevel are dropped, the level
  // read at each line (the shadow may change it while the device runs).
  const log: Platform["log"] = (line, level = 1) => {
    if (level >= LOG_LEVELS.indexOf(config?.logLevel ?? "info")) host.log(line);
  };
  const platform: Platform = { ...host, log };
  let session: Session | undefined;
  let clockTimer: TimerHandle | undefined;
  let stopped = false;

  const say: Platform["log"] = (line, level) => log("boot: " + line, level);
  const report = (next: DeviceStatus) => {
    status = next;
    try {
      events.onStatus?.(next);
    } catch (e) {
      say(`status listener threw ${e}`, 2);
    }
  };
  const stopWith = (state: DeviceState, f: Failure) => {
    say(`stopped: ${state}: ${f.message}`, 2);
    report({ state, code: f.code, message: f.message, attempts: session?.attempts ?? 0 });
  };
  // A result's value, or undefined once its failure stopped the device with `state`.
  const valid = <T>(result: Result<T>, state: DeviceState = "config-invalid"): T | undefined => (result.ok ? result.value : void stopWith(state, result.failure));

  // 1. Config: the device config, a mode this build carries, the features' settings.
  const overrides = parseOverrides(platform.storage.get(CONFIG_KEY));
  const loaded = valid(overrides.ok ? loadConfig(input.config, overrides.value) : overrides);
  const connectionMode = loaded && valid(findMode(loaded.config.mode, modes));
  // The feature runtime checks the features' settings; a build without it, only their names.
  const featureSettings = connectionMode && valid((input.startFeatures?.check ?? checkFeatureNames)(features, loaded.config.features));
  if (featureSettings) {
    const loadedConfig = config = loaded.config;
    const { ignored } = loaded;
    say(`config: manifest${overrides.ok && overrides.value !== undefined ? " + Preference" : ""}: mode ${loadedConfig.mode}, provisioning ${loadedConfig.provisioning}, telemetry every ${loadedConfig.telemetryIntervalMs} ms${features.length ? ", features " + features.map((f) => f.name).join(", ") : ""}${ignored.length ? "; not ours, ignored: " + ignored.join(", ") : ""}`);
    // 2. Clock: TLS must not be tried before it is set (certificate dates would be judged wrongly).
    const waitForClock = (waited: number): void => {
      clockTimer = undefined;
      if (stopped) return;
      if (platform.clock.isSet()) {
        say(`clock: set (${new Date(platform.clock.now()).toISOString()})`);
        return startNetwork();
      }
      if (!waited) say(`clock: not set yet, waiting up to ${loadedConfig.clockWaitMs} ms for SNTP`);
      if (waited >= loadedConfig.clockWaitMs) return stopWith("clock-unset", clockUnset(` after ${waited} ms`));
      clockTimer = platform.timers.setTimeout(() => waitForClock(waited + CLOCK_POLL_MS), CLOCK_POLL_MS);
    };
    // 3. Credentials, then 4-6: the session the build's modes speak (connect, provisioning,
    // telemetry). Again when a feature restarts the network (the runtime ends the session first).
    const startNetwork = (): void => {
      const loadedCredentials = valid(loadCredentials(platform, input.credentialSources, { requireClientCertificate: connectionMode.clientCertificate }), "credentials-invalid");
      // A feature that owns the device's identity may connect with other credentials, and may
      // make the session its own (fleet provisioning's claim: no telemetry, no other feature).
      const chosen = loadedCredentials && valid(input.startFeatures?.credentials(features, loadedCredentials, platform, featureSettings) ?? ok({ credentials: loadedCredentials, features, featureSettings, exclusive: false }), "credentials-invalid");
      const cfg = chosen && valid(completeConfig(loadedConfig, chosen.credentials.settings));
      const connection = cfg && valid(validateConnectionConfig(config = cfg, modes));
      const link = connection && valid(assembleConnection<unknown>(connection, chosen.credentials, platform, modes));
      if (!link) return; // reported
      session = startSession({
        ...input, ...chosen, platform, config: cfg, connection, mode: connectionMode, link,
        sensor: input.sensor ?? simulatedSensor(platform.random),
        onAcked: (seq) => events.onAcked?.(seq),
        status: () => status,
        report,
        restart: startNetwork,
        stop: (failure) => stopWith("refused", failure),
      });
    };
    waitForClock(0);
  }

  return {
    get status() { return status; },
    get telemetry() { return session?.telemetry ?? { produced: 0, acked: 0, dropped: 0, queued: 0, inFlight: 0 }; },
    get attempts() { return session?.attempts ?? 0; },
    get provisioned() { return session?.provisioned ?? false; },
    stop() {
      if (stopped) return;
      stopped = true;
      if (clockTimer !== undefined) platform.timers.clearTimeout(clockTimer);
      if (session) session.stop();
      else if (!isFinal(status.state)) report({ state: "stopped", message: "Stopped on request.", attempts: 0 });
    },
  };
}

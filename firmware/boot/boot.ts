// Power-on to telemetry, in order: config -> clock -> credentials -> connect -> provisioning ->
// telemetry. One log line per step and per decision; every stop is a status with a code and a
// sentence, never an exception and never a crash loop. The Node runtime, the XS runtime and
// the Moddable binding all call `boot()` with their Platform.

import { completeConfig, isObject, loadConfig, parseOverrides, type DeviceConfig } from "../config/config.js";
import { assembleConnection, findMode, validateConnectionConfig, type ConnectionMode } from "../connection/config.js";
// The modes this build carries: the manifest maps `connection/mode` to one mode's module (or,
// in the development build, to the list of all of them).
import { modes } from "../connection/mode.js";
import { loadCredentials, type CredentialSources } from "../credentials/load.js";
import { toHex } from "../credentials/der.js";
import { checkFeatures, startFeatures, type Feature, type RunningFeatures } from "../features/feature.js";
import { MqttClient } from "../mqtt/client.js";
import { clockUnset, type Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import { createConnectionLoop, type ConnectionLoop } from "../provisioning/loop.js";
import { statusPayload, topicsFor } from "../telemetry/messages.js";
import { simulatedSensor, type Sensor } from "../telemetry/sensor.js";
import { createTelemetry, type Telemetry, type TelemetryStats } from "../telemetry/telemetry.js";
import { isFinal, type DeviceState, type DeviceStatus } from "./status.js";

/** Preference keys (ESP32 NVS: at most 15 characters). */
export const CONFIG_KEY = "config";
export const PROVISIONED_KEY = "provisioned";

export interface BootInput {
  /** The manifest's `config` object (Moddable's `mc/config`). Preference "config" overrides it. */
  config: unknown;
  /** Where the credentials image may live besides Preference. */
  credentialSources: CredentialSources;
  /** Default: the simulated sensor driven by `platform.random`. */
  sensor?: Sensor;
  /** The optional features the build carries (the platform entry loads those its manifest names). */
  features?: readonly Feature[];
}

export interface BootEvents {
  onStatus?(status: DeviceStatus): void;
  /** A telemetry message was acknowledged (PUBACK). */
  onAcked?(seq: number): void;
}

export interface Device {
  readonly status: DeviceStatus;
  /** Undefined until the device config is known. */
  readonly config: DeviceConfig | undefined;
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
export function boot(platform: Platform, input: BootInput, events: BootEvents = {}): Device {
  const log = platform.log;
  const features = input.features ?? [];
  let status: DeviceStatus = { state: "booting", message: "Booting.", attempts: 0 };
  let config: DeviceConfig | undefined;
  let loop: ConnectionLoop | undefined;
  let telemetry: Telemetry | undefined;
  let running: RunningFeatures | undefined;
  let clockTimer: TimerHandle | undefined;
  let stopped = false;

  const say = (line: string) => log("boot: " + line);
  const report = (next: DeviceStatus) => {
    status = next;
    try {
      events.onStatus?.(next);
    } catch (e) {
      say(`status listener threw ${e}`);
    }
  };
  const stopWith = (state: DeviceState, f: Failure) => {
    say(`stopped: ${state}: ${f.message}`);
    report({ state, code: f.code, message: f.message, attempts: loop?.attempts ?? 0 });
  };

  // 1. Config: the device config, a mode this build carries, the features' settings.
  const overrides = parseOverrides(platform.storage.get(CONFIG_KEY));
  const loaded = overrides.ok ? loadConfig(input.config, overrides.value) : overrides;
  const mode = loaded.ok ? findMode(loaded.value.config.mode, modes) : loaded;
  const settings = loaded.ok ? checkFeatures(features, loaded.value.config.features) : loaded;
  if (!mode.ok) stopWith("config-invalid", mode.failure);
  else if (!settings.ok) stopWith("config-invalid", settings.failure);
  else if (loaded.ok) {
    const loadedConfig = config = loaded.value.config;
    const { ignored } = loaded.value;
    say(`config: manifest${overrides.ok && overrides.value !== undefined ? " + Preference" : ""}: mode ${loadedConfig.mode}, provisioning ${loadedConfig.provisioning}, telemetry every ${loadedConfig.telemetryIntervalMs} ms${features.length ? ", features " + features.map((f) => f.name).join(", ") : ""}${ignored.length ? "; not ours, ignored: " + ignored.join(", ") : ""}`);
    waitForClock(loadedConfig, 0, () => startNetwork(loadedConfig, mode.value, settings.value));
  }

  // 2. Clock: TLS must not be tried before it is set (certificate dates would be judged wrongly).
  function waitForClock(cfg: DeviceConfig, waited: number, then: () => void): void {
    clockTimer = undefined;
    if (stopped) return;
    if (platform.clock.isSet()) {
      say(`clock: set (${new Date(platform.clock.now()).toISOString()})`);
      return then();
    }
    if (!waited) say(`clock: not set yet, waiting up to ${cfg.clockWaitMs} ms for SNTP`);
    if (waited >= cfg.clockWaitMs) {
      return stopWith("clock-unset", clockUnset(` after ${waited} ms`));
    }
    clockTimer = platform.timers.setTimeout(() => waitForClock(cfg, waited + CLOCK_POLL_MS, then), CLOCK_POLL_MS);
  }

  // 3. Credentials, then 4-6: connect, provisioning, telemetry.
  function startNetwork(loadedConfig: DeviceConfig, mode: ConnectionMode, featureSettings: Record<string, unknown>[]): void {
    const needCertificate = mode.clientCertificate;
    const credentials = loadCredentials(platform, input.credentialSources, { requireClientCertificate: needCertificate });
    if (!credentials.ok) return stopWith("credentials-invalid", credentials.failure);
    const creds = credentials.value;
    const completed = completeConfig(loadedConfig, creds.settings);
    if (!completed.ok) return stopWith("config-invalid", completed.failure);
    const cfg = config = completed.value;
    const connection = validateConnectionConfig(cfg, modes);
    if (!connection.ok) return stopWith("config-invalid", connection.failure);
    const link = assembleConnection(connection.value, creds, platform, modes);
    if (!link.ok) return stopWith("config-invalid", link.failure);
    const { endpoint, port, serverName } = connection.value;
    // The leaf certificate's fingerprint: provisioning is remembered per certificate.
    const leaf = creds.certificateChain[0];
    const fingerprint = leaf && toHex(platform.crypto.sha256(leaf).subarray(0, 8));
    const remembered = fingerprint !== undefined && platform.storage.get(PROVISIONED_KEY) === fingerprint;
    const provisioned = cfg.provisioning === "none" || !needCertificate || remembered;
    say(`provisioning: ${cfg.provisioning}, ${remembered ? "provisioned before (remembered)" : provisioned ? "not needed" : "not yet: the first connect may be dropped"}`);

    const topics = topicsFor(cfg.topicPrefix);
    const client = new MqttClient(platform, {
      ...cfg,
      username: link.value.username,
      password: link.value.password,
      will: { topic: topics.status, payload: statusPayload(cfg.thingName, "offline"), qos: 1 },
    }, {
      onConnected: (info) => loop?.connected(info),
      onMessage: (topic, payload) => {
        if (topic === topics.command) telemetry?.command(payload);
        else running?.message(topic, payload);
      },
      onDisconnected: (f) => loop?.disconnected(f),
    });
    const sessionTelemetry = telemetry = createTelemetry(platform, cfg, input.sensor ?? simulatedSensor(platform.random), client, events);
    const sessionFeatures = running = startFeatures(features, featureSettings, {
      platform,
      client,
      thingName: cfg.thingName,
      topicPrefix: cfg.topicPrefix,
      status: () => status,
      persist: (feature, name, value) => keepFeatureSetting(platform, feature, name, value),
    });
    const connectionLoop = loop = createConnectionLoop(platform, client, link.value.open, cfg, { provisioned, target: `${endpoint}:${port} (${mode.name}, SNI ${serverName})` }, {
      onStatus: (s) => {
        if (isFinal(s.state)) sessionTelemetry.stop();
        report(s);
      },
      onSessionUp: () => subscribe(client, topics.command, connectionLoop, sessionTelemetry, sessionFeatures),
      onSessionDown: () => {
        sessionTelemetry.offline();
        sessionFeatures.sessionDown();
      },
      onProvisioned: () => {
        if (fingerprint !== undefined) platform.storage.set(PROVISIONED_KEY, fingerprint);
      },
    });
    connectionLoop.start();
  }

  // The first reply after CONNACK proves the session is really accepted: only then is the
  // device provisioned (JITP may still close a session right after CONNACK), telemetry flows
  // and the features hear that the session is up.
  function subscribe(client: MqttClient, filter: string, sessionLoop: ConnectionLoop, sessionTelemetry: Telemetry, sessionFeatures: RunningFeatures): void {
    const refused = client.subscribe([{ filter, qos: 1 }], (result) => {
      if (!Array.isArray(result)) return; // the session ended first; the loop decides what next
      say(`subscribe ${filter}: ${result[0] === 0x80 ? "refused by the policy, no commands will arrive" : "done"}`);
      sessionLoop.markProvisioned();
      sessionTelemetry.start();
      sessionTelemetry.online();
      sessionFeatures.sessionUp();
    });
    if (refused) say(`subscribe ${filter} not sent: ${refused.code}`);
  }

  return {
    get status() { return status; },
    get config() { return config; },
    get telemetry() { return telemetry?.stats ?? { produced: 0, acked: 0, dropped: 0, queued: 0, inFlight: 0 }; },
    get attempts() { return loop?.attempts ?? 0; },
    get provisioned() { return loop?.provisioned ?? false; },
    stop() {
      if (stopped) return;
      stopped = true;
      if (clockTimer !== undefined) platform.timers.clearTimeout(clockTimer);
      telemetry?.stop();
      running?.stop();
      if (loop) loop.stop();
      else if (!isFinal(status.state)) report({ state: "stopped", message: "Stopped on request.", attempts: 0 });
    },
  };
}

/** Keeps `features.<feature>.<name> = value` among the Preference "config" overrides. */
function keepFeatureSetting(platform: Platform, feature: string, name: string, value: unknown): void {
  const stored = parseOverrides(platform.storage.get(CONFIG_KEY));
  const overrides = stored.ok && isObject(stored.value) ? stored.value : {};
  const all = isObject(overrides.features) ? overrides.features : {};
  const own = all[feature];
  overrides.features = { ...all, [feature]: { ...(isObject(own) ? own : {}), [name]: value } };
  platform.storage.set(CONFIG_KEY, JSON.stringify(overrides));
}

// Power-on to telemetry, in order: config -> clock -> credentials -> connect -> provisioning ->
// telemetry. One log line per step and per decision; every stop is a status with a code and a
// sentence, never an exception and never a crash loop. The Node runtime, the XS runtime and
// the Moddable binding all call `boot()` with their Platform.

import { completeConfig, loadConfig, parseOverrides, usesClientCertificate, type DeviceConfig } from "../config/config.js";
import { validateConnectionConfig, type ConnectionConfig } from "../connection/config.js";
import { loadCredentials, type CredentialSources } from "../credentials/load.js";
import { assembleConnection } from "../connection/modes.js";
import { MqttClient } from "../mqtt/client.js";
import { clockUnset, type Failure } from "../platform/failure.js";
import { toHex } from "../sigv4/presign.js";
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
  let status: DeviceStatus = { state: "booting", message: "Booting.", attempts: 0 };
  let config: DeviceConfig | undefined;
  let loop: ConnectionLoop | undefined;
  let telemetry: Telemetry | undefined;
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

  // 1. Config
  const overrides = parseOverrides(platform.storage.get(CONFIG_KEY));
  const loaded = overrides.ok ? loadConfig(input.config, overrides.value) : overrides;
  if (!loaded.ok) {
    stopWith("config-invalid", loaded.failure);
  } else {
    config = loaded.value.config;
    const { ignored } = loaded.value;
    say(`config: manifest${overrides.ok && overrides.value !== undefined ? " + Preference" : ""}: mode ${config.mode}, provisioning ${config.provisioning}, telemetry every ${config.telemetryIntervalMs} ms${ignored.length ? "; not ours, ignored: " + ignored.join(", ") : ""}`);
    waitForClock(0);
  }

  // 2. Clock: TLS must not be tried before it is set (certificate dates would be judged wrongly).
  function waitForClock(waited: number): void {
    clockTimer = undefined;
    if (stopped) return;
    if (platform.clock.isSet()) {
      say(`clock: set (${new Date(platform.clock.now()).toISOString()})`);
      return startNetwork();
    }
    if (!waited) say(`clock: not set yet, waiting up to ${config!.clockWaitMs} ms for SNTP`);
    if (waited >= config!.clockWaitMs) {
      return stopWith("clock-unset", clockUnset(` after ${waited} ms`));
    }
    clockTimer = platform.timers.setTimeout(() => waitForClock(waited + CLOCK_POLL_MS), CLOCK_POLL_MS);
  }

  // 3. Credentials, then 4-6: connect, provisioning, telemetry.
  function startNetwork(): void {
    const needCertificate = usesClientCertificate(config!.mode);
    const credentials = loadCredentials(platform, input.credentialSources, { requireClientCertificate: needCertificate });
    if (!credentials.ok) return stopWith("credentials-invalid", credentials.failure);
    const creds = credentials.value;
    const completed = completeConfig(config!, creds.settings);
    const connection = completed.ok ? validateConnectionConfig(completed.value) : completed;
    const link = connection.ok ? assembleConnection(connection.value, creds, platform) : connection;
    if (!link.ok) return stopWith("config-invalid", link.failure);
    const cfg = config = (completed as { value: DeviceConfig }).value;
    const { endpoint, port, mode, serverName } = (connection as { value: ConnectionConfig }).value;
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
      onConnected: (info) => loop!.connected(info),
      onMessage: (topic, payload) => {
        if (topic === topics.command) telemetry!.command(payload);
      },
      onDisconnected: (f) => loop!.disconnected(f),
    });
    telemetry = createTelemetry(platform, cfg, input.sensor ?? simulatedSensor(platform.random), client, events);
    loop = createConnectionLoop(platform, client, link.value.open, cfg, { provisioned, target: `${endpoint}:${port} (${mode}, SNI ${serverName})` }, {
      onStatus: (s) => {
        if (isFinal(s.state)) telemetry?.stop();
        report(s);
      },
      onSessionUp: () => subscribe(client, topics.command),
      onSessionDown: () => telemetry!.offline(),
      onProvisioned: () => {
        if (fingerprint !== undefined) platform.storage.set(PROVISIONED_KEY, fingerprint);
      },
    });
    loop.start();
  }

  // The first reply after CONNACK proves the session is really accepted: only then is the
  // device provisioned (JITP may still close a session right after CONNACK) and telemetry flows.
  function subscribe(client: MqttClient, filter: string): void {
    const refused = client.subscribe([{ filter, qos: 1 }], (result) => {
      if (!Array.isArray(result)) return; // the session ended first; the loop decides what next
      say(`subscribe ${filter}: ${result[0] === 0x80 ? "refused by the policy, no commands will arrive" : "done"}`);
      loop!.markProvisioned();
      telemetry!.start();
      telemetry!.online();
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
      if (loop) loop.stop();
      else if (!isFinal(status.state)) report({ state: "stopped", message: "Stopped on request.", attempts: 0 });
    },
  };
}

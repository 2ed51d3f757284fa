// Power-on to telemetry, in order: config -> clock -> credentials -> connect -> provisioning ->
// telemetry. One log line per step and per decision; every stop is a status with a code and a
// sentence, never an exception and never a crash loop. The Node runtime, the XS runtime and
// the Moddable binding all call `boot()` with their Platform.

import { completeConfig, loadConfig, parseOverrides, type DeviceConfig } from "../config/config.js";
import { validateConnectionConfig, type ConnectionConfig } from "../connection/config.js";
import { loadCredentials, type CredentialSources, type Credentials } from "../credentials/load.js";
import { assembleConnection, type MqttConnection } from "../connection/modes.js";
import { MqttClient } from "../mqtt/client.js";
import { ok, type Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import { ConnectionLoop } from "../provisioning/loop.js";
import { statusPayload, topicsFor } from "../telemetry/messages.js";
import { simulatedSensor, type Sensor } from "../telemetry/sensor.js";
import { Telemetry, type TelemetryStats } from "../telemetry/telemetry.js";
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

  const report = (next: DeviceStatus) => {
    status = next;
    try {
      events.onStatus?.(next);
    } catch (e) {
      log(`boot: status listener threw ${e}`);
    }
  };
  const stopWith = (state: DeviceState, f: Failure) => {
    log(`boot: stopped: ${state}: ${f.message}`);
    report({ state, code: f.code, message: f.message, attempts: loop?.attempts ?? 0 });
  };

  // 1. Config
  const overrides = parseOverrides(platform.storage.get(CONFIG_KEY));
  const loaded = overrides.ok ? loadConfig(input.config, overrides.value) : overrides;
  if (!loaded.ok) {
    stopWith("config-invalid", loaded.failure);
  } else {
    config = loaded.value.config;
    const ignored = loaded.value.ignored.length ? `; not ours, ignored: ${loaded.value.ignored.join(", ")}` : "";
    const source = overrides.ok && overrides.value !== undefined ? "manifest + Preference" : "manifest";
    log(`boot: config: ${source}: mode ${config.mode}, provisioning ${config.provisioning}, telemetry every ${config.telemetryIntervalMs} ms${ignored}`);
    waitForClock(0);
  }

  // 2. Clock: TLS must not be tried before it is set (certificate dates would be judged wrongly).
  function waitForClock(waited: number): void {
    clockTimer = undefined;
    if (stopped) return;
    if (platform.clock.isSet()) {
      log(`boot: clock: set (${new Date(platform.clock.now()).toISOString()})`);
      return startNetwork();
    }
    if (waited === 0) log(`boot: clock: not set yet, waiting up to ${config!.clockWaitMs} ms for SNTP`);
    if (waited >= config!.clockWaitMs) {
      return stopWith("clock-unset", {
        code: "clock-unset",
        message: `The clock is still not set after ${Math.round(waited / 1000)} s: TLS cannot check certificate dates without it; check the network and the SNTP server.`,
        retryable: false,
      });
    }
    clockTimer = platform.timers.setTimeout(() => waitForClock(waited + CLOCK_POLL_MS), CLOCK_POLL_MS);
  }

  // 3. Credentials, then 4-6: connect, provisioning, telemetry.
  function startNetwork(): void {
    const partial = config!;
    const needCertificate = partial.mode === "mtls" || partial.mode === "mtls-alpn";
    const credentials = loadCredentials(platform, input.credentialSources, { requireClientCertificate: needCertificate });
    if (!credentials.ok) return stopWith("credentials-invalid", credentials.failure);
    const creds = credentials.value;
    log(`boot: credentials: from ${creds.source}, ${creds.certificateChain.length} certificate(s) in the chain, ${creds.trustedCa.length} trusted CA(s)`);
    const completed = completeConfig(partial, creds.settings);
    if (!completed.ok) return stopWith("config-invalid", completed.failure);
    config = completed.value;
    const connection = validateConnectionConfig(config);
    if (!connection.ok) return stopWith("config-invalid", connection.failure);
    const link = assembleConnection(connection.value, creds, platform);
    if (!link.ok) return stopWith("config-invalid", link.failure);
    const fingerprint = certificateFingerprint(platform, creds);
    const remembered = fingerprint !== undefined && platform.storage.get(PROVISIONED_KEY) === fingerprint;
    const provisioned = config.provisioning === "none" || !needCertificate || remembered;
    log(`boot: provisioning: ${config.provisioning}, ${provisioned ? (remembered ? "provisioned before (remembered)" : "not needed") : "not provisioned yet: the first connect may be dropped"}`);
    run(config, connection.value, link.value, provisioned, fingerprint);
  }

  function run(cfg: DeviceConfig, connection: ConnectionConfig, link: MqttConnection, provisioned: boolean, fingerprint: string | undefined): void {
    const topics = topicsFor(cfg.topicPrefix);
    const client = new MqttClient(platform, {
      clientId: cfg.clientId,
      cleanSession: cfg.cleanSession,
      keepAliveSeconds: cfg.keepAliveSeconds,
      username: link.username,
      password: link.password,
      will: { topic: topics.status, payload: statusPayload(cfg.thingName, "offline"), qos: 1 },
    }, {
      onConnected: (info) => loop!.connected(info),
      onMessage: (topic, payload) => {
        if (topic === topics.command) telemetry!.command(payload);
      },
      onDisconnected: (f) => loop!.disconnected(f),
    });
    telemetry = new Telemetry(platform, {
      thing: cfg.thingName,
      topics,
      intervalMs: cfg.telemetryIntervalMs,
      queueLimit: cfg.queueLimit,
      drainPerSecond: cfg.drainPerSecond,
      maxInFlight: cfg.maxInFlight,
      minIntervalMs: 100,
      maxIntervalMs: 86_400_000,
    }, input.sensor ?? simulatedSensor(platform.random), client, { onAcked: (seq) => events.onAcked?.(seq) });
    const target = `${connection.endpoint}:${connection.port} (${connection.mode}, SNI ${connection.serverName})`;
    loop = new ConnectionLoop(platform, client, () => ok(link.open), {
      baseMs: cfg.backoffBaseMs,
      capMs: cfg.backoffCapMs,
      spacingMs: cfg.connectSpacingMs,
      provisioningAttempts: cfg.provisioningAttempts,
      provisioningGraceMs: cfg.provisioningGraceMs,
      reconnectAttempts: cfg.reconnectAttempts,
      stableSessionMs: cfg.stableSessionMs,
      takeoverThreshold: cfg.takeoverThreshold,
    }, { provisioned, target }, {
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
      if (result[0] === 0x80) log(`boot: subscribe ${filter} refused by the server's policy; commands will not arrive`);
      else log(`boot: subscribed to ${filter}`);
      loop!.markProvisioned();
      if (!telemetry!.stats.produced) log("boot: telemetry: starting");
      telemetry!.start();
      telemetry!.online();
    });
    if (refused) log(`boot: subscribe ${filter} not sent: ${refused.code}`);
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

/** Hex of the first 8 bytes of SHA-256 over the leaf certificate; undefined without one. */
function certificateFingerprint(platform: Platform, credentials: Credentials): string | undefined {
  const leaf = credentials.certificateChain[0];
  if (!leaf) return undefined;
  const digest = platform.crypto.sha256(leaf);
  let hex = "";
  for (let i = 0; i < 8; i += 1) hex += (digest[i]! < 16 ? "0" : "") + digest[i]!.toString(16);
  return hex;
}

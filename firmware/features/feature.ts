// Optional feature modules (Device Shadow, jobs, OTA, fleet provisioning...) and what the device
// gives them. A feature is a module whose default export is a `Feature`; a build carries the
// features its manifest names (the keys of `config.features`, each mapped as module
// `features/<name>`), and the platform entry hands them to boot with the feature runtime
// (features/runtime, in builds with features only). Boot knows none by name: it validates each
// feature's settings; the runtime starts it with a `FeatureContext` once the MQTT client exists,
// routes the messages of its subscriptions and tells it when a session is up or down.

import { configInvalid, type DeviceConfig, type Rule } from "../config/config.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import type { DeviceStatus } from "../boot/status.js";
import type { MqttClient } from "../mqtt/client.js";
import type { Credentials } from "../credentials/load.js";
import type { Failure, Result } from "../platform/failure.js";
import { ok } from "../platform/failure.js";
import type { Log, Platform } from "../platform/seam.js";

export interface FeatureContext {
  /** The thing name and topic prefix (after the credentials filled them in). */
  readonly thingName: string;
  readonly topicPrefix: string;
  /** Clock, timers, random, storage, crypto, transports: the same seam the firmware core uses. */
  readonly platform: Platform;
  /** Lines prefixed with the feature's name; never key material. */
  readonly log: Log;
  /** The device's status (state, code, sentence). */
  status(): DeviceStatus;
  /** MQTT publish on the device's session; returns a Failure when not sent (offline, bad topic). */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (failure?: Failure) => void): Failure | undefined;
  /**
   * Subscribes `filter` (MQTT wildcards allowed) on every session from now on (at once when a
   * session is up); messages matching it go to `onMessage`.
   */
  subscribe(filter: string, qos: 0 | 1, onMessage: (topic: string, payload: Uint8Array) => void): void;
  /** Called after each session is accepted and its subscriptions are made. */
  onSessionUp(listener: () => void): void;
  /** Called when a session ends (the device reconnects on its own). */
  onSessionDown(listener: () => void): void;
  /** A setting's value: its default, the manifest's `config.features.<name>`, Preference overrides. */
  setting(name: string): unknown;
  /**
   * Checks `value` against the setting's rule and keeps it in Preference "config" (it survives a
   * reboot); returns a Failure "config-invalid" naming the setting instead when it breaks the rule.
   */
  setSetting(name: string, value: unknown): Failure | undefined;
  /** Ends the session and starts the network again: credentials are chosen anew (see `Feature.credentials`). */
  restart(reason: string): void;
  /** Stops the device for good with state "refused" and this code and sentence (a server's final refusal). */
  stop(failure: Failure): void;
  /** The device config's current value of a field (e.g. "telemetryIntervalMs"). */
  config(name: string): unknown;
  /**
   * Changes one of the device config's live fields (config/live.ts LIVE_FIELDS) as the device runs:
   * checked with the config's rule, applied at once and kept in Preference "config" (it survives
   * a reboot). Returns a Failure "config-invalid" naming the field, the value and the rule.
   */
  setConfig(name: string, value: unknown): Failure | undefined;
  /** What the device is, for reports: firmware version, connection mode, uptime, queue depth, last failure. */
  facts(): DeviceFacts;
  /** The credentials image's code-signing certificates: [name (an OTA job's `certfile`), DER]. */
  readonly codeSigners: readonly [string, Uint8Array][];
}

/** The firmware's version, as features report it (the shadow's `reported.device.firmware`). */
export const FIRMWARE_VERSION = "0.1.0";

export interface DeviceFacts {
  firmware: string;
  mode: string;
  /** seconds since the network start (the clock was set) */
  uptimeS: number;
  /** telemetry samples waiting in the offline queue */
  queued: number;
  /** the last failure the device reported (code and sentence), null when none */
  lastFailure: { code: string; message: string } | null;
}

/** The credentials a feature chooses for the next session. */
export interface CredentialsChoice {
  credentials: Credentials;
  /** The session is the feature's own (a bootstrap identity): no telemetry, no command subscription, no other feature. */
  exclusive: boolean;
}

export interface Feature {
  /** The key under `config.features` and in `features/<name>`; short (Preference keys are <= 15 characters). */
  readonly name: string;
  /** Each setting's default and rule (checked by the config module). */
  readonly settings: Readonly<Record<string, readonly [unknown, Rule]>>;
  /** Called once, after the config and credentials are known and before the first connect. */
  start(context: FeatureContext): { stop?(): void } | void;
  /**
   * Optional, for a feature that owns the device's identity (fleet provisioning): called before
   * each network start with the credentials the device loaded and this feature's settings;
   * returns the credentials to connect with, or undefined to keep them. A Failure stops the
   * device ("credentials-invalid" or the failure's own code).
   */
  credentials?(loaded: Credentials, platform: Platform, settings: Record<string, unknown>): Result<CredentialsChoice> | undefined;
}

/** What boot drives. */
export interface RunningFeatures {
  /** The session is up: subscribe every feature's filters, then tell the features. */
  sessionUp(): void;
  sessionDown(): void;
  /** Hands a message to the features whose filters match. */
  message(topic: string, payload: Uint8Array): void;
  stop(): void;
}

/**
 * What a build without the feature runtime checks of the config's `features` object (`given`):
 * a Failure "config-invalid" when it names a feature the build does not carry; otherwise an
 * empty settings object per feature. The runtime (`StartFeatures.check`) checks each feature's
 * settings as well.
 */
export function checkFeatureNames(features: readonly Feature[], given: Record<string, unknown>): Result<Record<string, unknown>[]> {
  for (const name in given) {
    if (!features.some((f) => f.name === name)) {
      return configInvalid(`config field "features.${name}" names a feature this build does not carry (${features.map((f) => f.name).join(", ") || "none"}): add its manifest or remove the setting.`);
    }
  }
  return ok(features.map(() => ({})));
}

/** What the MQTT session hands the feature runtime: boot's SessionContext (connection/config.ts) has all of it. */
export interface FeatureHost {
  platform: Platform;
  /** The device config (after the credentials filled in the thing name); its live fields change in place. */
  config: DeviceConfig;
  mode: { readonly name: string };
  features: readonly Feature[];
  /** `featureSettings[i]`: `features[i]`'s checked settings. */
  featureSettings: Record<string, unknown>[];
  status(): DeviceStatus;
  /**
   * How the session reports its status. The runtime puts its own in its place, to keep the last
   * failure for the features' facts and to end a session without reporting "stopped".
   */
  report(status: DeviceStatus): void;
  /** Boot's: starts the network again (the runtime ends the session first). */
  restart(reason: string): void;
  /** Boot's: stops the device with state "refused" (the runtime ends the session first). */
  stop(failure: Failure): void;
  /** The credentials of the session: the features read the image's code-signing certificates. */
  credentials: { codeSigners?: [string, Uint8Array][] };
}

/** The features a session runs and their settings, and whether the session is one feature's own (see `CredentialsChoice`). */
export interface FeatureSet {
  features: readonly Feature[];
  featureSettings: Record<string, unknown>[];
  exclusive: boolean;
}

/**
 * Starts each feature with its context, built from `host`, the session's MQTT client, its
 * telemetry (live config changes apply to it; its queue depth is a fact) and the session's own
 * stop (`endSession`: a feature's restart or stop ends the session first). The runtime is its
 * own module (features/runtime), which only builds with features carry: the platform entry
 * hands it to boot beside them (`BootInput.startFeatures`), so a build without features carries
 * none of the context either.
 */
export interface StartFeatures {
  (host: FeatureHost, client: MqttClient, telemetry: Pick<Telemetry, "reconfigure" | "stats">, endSession: () => void): RunningFeatures;
  /**
   * Checks the settings of `features` against `given` (the config's `features` object): each
   * feature's settings, or a Failure "config-invalid" when a setting breaks its rule or `given`
   * names a feature the build does not carry.
   */
  check(features: readonly Feature[], given: Record<string, unknown>): Result<Record<string, unknown>[]>;
  /**
   * The credentials of the next session: `loaded`, or those a feature that owns the device's
   * identity chooses (`Feature.credentials`), with the features the session runs: all of
   * `features`, or only the owner when the session is a feature's own (`exclusive`). A Failure
   * stops the device with "credentials-invalid".
   */
  credentials(features: readonly Feature[], loaded: Credentials, platform: Platform, settings: Record<string, unknown>[]): Result<FeatureSet & { credentials: Credentials }>;
}

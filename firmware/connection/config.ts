// The connection config: how to reach AWS IoT Core in one connection mode, and what a mode
// module is. A build carries the modes its manifest maps the module `connection/mode` to (one
// per device build; all of them in the development build); this module knows none by name.
//
// The config is built from the device config's `mode`, `endpoint`, `port`, `serverName` and its
// `connection` object (the mode's own settings), validated before any network use with the same
// field checker as the device config.

import { ok, type Failure, type Result } from "../platform/failure.js";
import type { Platform } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import { badField, fieldProblem, type DeviceConfig, type Rule } from "../config/config.js";
import type { DeviceStatus } from "../boot/status.js";
import type { Credentials } from "../credentials/load.js";
import type { SigV4Signer } from "../sigv4/credentials.js";
import type { Feature, StartFeatures } from "../features/feature.js";
import type { Sensor } from "../telemetry/sensor.js";

/** The rule of a text setting: at most this many characters, no control characters. */
export const TEXT = 4096;

/** Where to dial, common to every mode. */
export interface Endpoint {
  /** Address dialled (DNS name or IP). */
  endpoint: string;
  /** The mode's standard port (8883 for mtls, 443 otherwise) unless set. */
  port: number;
  /** SNI and the name checked on the server certificate: the endpoint or a custom domain. */
  serverName: string;
}

/** mtls (8883) and mtls-alpn (443, ALPN x-amzn-mqtt-ca): the device's X.509 certificate. */
export interface CertificateConfig extends Endpoint {
  mode: "mtls" | "mtls-alpn";
}

/** The values a custom authorizer reads. Absent authorizerName = the domain's default authorizer. */
export interface AuthorizerSettings {
  authorizerName?: string;
  tokenKeyName?: string;
  token?: string;
  /** Base64 RSA-SHA256 signature of `token`, made off the device; absent when signing is disabled. */
  tokenSignature?: string;
}

/** custom-auth: 443 with ALPN `mqtt`, the authorizer values in the CONNECT username. */
export interface CustomAuthConfig extends Endpoint, AuthorizerSettings {
  mode: "custom-auth";
  username?: string;
  password?: string;
}

/** wss-custom-auth: MQTT over WebSocket, the authorizer values in the upgrade's headers or query. */
export interface WssCustomAuthConfig extends Endpoint, AuthorizerSettings {
  mode: "wss-custom-auth";
  /** Send the authorizer values in the query string instead of headers. */
  authInQuery?: boolean;
}

/** Temporary credentials from a Cognito identity pool (unauthenticated identities). */
export interface CognitoPool {
  identityPoolId: string;
  /** Cognito endpoint; default `cognito-identity.<pool region>.amazonaws.com`, port 443. */
  cognitoEndpoint?: string;
  /** Where to dial the Cognito endpoint when not its DNS name (a local stand-in); SNI stays `cognitoEndpoint`. */
  cognitoAddress?: string;
  cognitoPort?: number;
}

/** wss-sigv4: MQTT over WebSocket, the URL presigned with SigV4 (region and credentials: firmware/sigv4/credentials.ts). */
export interface WssSigV4Config extends Endpoint, SigV4Signer {
  mode: "wss-sigv4";
  /** Adds X-Amz-Expires (seconds) to the presigned URL. */
  presignExpiresSeconds?: number;
}

/** One member per connection mode, told apart by `mode`. */
export type ConnectionConfig = CertificateConfig | CustomAuthConfig | WssCustomAuthConfig | WssSigV4Config;

/** What firmware/credentials returns (only what connecting needs). */
export interface ConnectionCredentials {
  trustedCa: Uint8Array[];
  clientKey?: Uint8Array;
  certificateChain?: Uint8Array[];
}

export interface MqttConnection {
  /** Opens a fresh stream per connect attempt; refuses (through onClose) with an unset clock. */
  open: OpenStream;
  username?: string;
  password?: Uint8Array;
}

/**
 * A connection mode module. The module `connection/mode` of a build exports `modes`, the list of
 * modes that build carries; a manifest maps that specifier to one mode's module (or, in the
 * development build, to `connection/mode.ts`, which lists all of them).
 */
export interface ConnectionMode<C extends Endpoint & { mode: string } = ConnectionConfig, S extends object = Record<string, unknown>, L = MqttConnection> {
  /** The config's `mode` value. */
  readonly name: C["mode"];
  /** Authenticates with the device certificate (the credentials must hold one; JITP/JITR apply). */
  readonly clientCertificate: boolean;
  /** The standard port, used when the config's port is 0. */
  readonly port: number;
  /** The rule of each setting in the config's `connection` object. */
  readonly settings: { readonly [K in keyof S]-?: Rule };
  /**
   * Checks the settings against each other (each one already satisfies its rule) and returns
   * the mode's config, or a Failure "config-invalid" naming `connection.<setting>`.
   */
  configure(endpoint: Endpoint, settings: S): Result<C>;
  /**
   * What the build's session module (`connection/session`) connects with: for the MQTT modes
   * the opener and CONNECT credentials; called after the credentials were checked for the mode.
   */
  connect(config: C, credentials: ConnectionCredentials, platform: Platform): Result<L>;
}

/**
 * What boot hands the session module once config, clock and credentials are settled. The
 * manifest maps `connection/session` to the session its modes speak: `connection/session.ts`
 * (MQTT: client, provisioning loop, telemetry, features) or another one (HTTPS publish).
 */
export interface SessionContext {
  platform: Platform;
  config: DeviceConfig;
  connection: ConnectionConfig;
  mode: AnyConnectionMode;
  /** What `mode.connect` returned (the session module knows its modes' shape). */
  link: unknown;
  credentials: Credentials;
  sensor: Sensor;
  features: readonly Feature[];
  /** The feature runtime; absent in a build without features. */
  startFeatures?: StartFeatures;
  featureSettings: Record<string, unknown>[];
  /** A telemetry message was acknowledged (PUBACK, or HTTPS 200). */
  onAcked(seq: number): void;
  status(): DeviceStatus;
  report(status: DeviceStatus): void;
  /** The session belongs to one feature (a bootstrap identity): no telemetry, no command topic, no last will. */
  exclusive: boolean;
  /** A feature ends the session and starts the network again, or stops the device ("refused"). */
  restart(reason: string): void;
  stop(failure: Failure): void;
}

/** A running session: what boot's Device reports, and how it stops. */
export interface Session {
  readonly attempts: number;
  readonly provisioned: boolean;
  readonly telemetry: { produced: number; acked: number; dropped: number; queued: number; inFlight: number };
  /** Ends the session (DISCONNECT, timers cancelled); idempotent. */
  stop(): void;
}

/**
 * A mode as boot and the functions below see it: each mode module knows its own config, settings
 * and link types; this module only routes between them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type AnyConnectionMode = ConnectionMode<any, any, unknown>;

/** What a session module exports. */
export type StartSession = (context: SessionContext) => Session;

/**
 * The device config fields this module reads (DeviceConfig satisfies it), each already checked
 * against its rule by the device config (config/config.ts loadConfig, completeConfig).
 */
export interface ConnectionFields {
  mode: string;
  endpoint: string;
  port?: number;
  serverName?: string;
  connection?: Record<string, unknown>;
}

/** The mode named `name` among those the build carries, or a Failure "config-invalid" listing them. */
export function findMode(name: unknown, modes: readonly AnyConnectionMode[]): Result<AnyConnectionMode> {
  for (const mode of modes) if (mode.name === name) return ok(mode);
  return badField("mode", name, `is not a mode this build carries (${modes.map((m) => m.name).join(", ")}): set one, or build with manifests/modes/<mode>.json`);
}

/**
 * Returns the validated config of the mode `fields.mode` among `modes`, or a Failure
 * "config-invalid" naming `mode` or the setting (`connection.<name>`), its value (secrets
 * withheld) and what it must be. The endpoint, port, server name and the `connection` object
 * itself are the device config's fields, checked where it is loaded and completed.
 */
export function validateConnectionConfig(fields: ConnectionFields, modes: readonly AnyConnectionMode[]): Result<ConnectionConfig> {
  const found = findMode(fields.mode, modes);
  if (!found.ok) return found;
  const mode = found.value;
  const { endpoint, connection } = fields;
  const settings: Record<string, unknown> = {};
  for (const name in connection) {
    const value = connection[name];
    // Own settings only: "toString" or "__proto__" is not a setting.
    const rule = Object.hasOwn(mode.settings, name) && mode.settings[name];
    // An empty setting is an unset one.
    if (rule && (value === undefined || value === "")) continue;
    const problem = fieldProblem(rule, value, mode.name + " setting", mode.settings);
    if (problem) return badField("connection." + name, value, problem);
    settings[name] = value;
  }
  return mode.configure({ endpoint, port: fields.port || mode.port, serverName: fields.serverName || endpoint }, settings);
}

/**
 * The opener and CONNECT credentials of `config`'s mode, or the mode's own Failure before any
 * network use. `credentials` are as the credentials loader returns them for this mode: a
 * trusted CA always (every mode verifies the server), the device key and certificate when the
 * mode uses one (boot loads them with the mode's `clientCertificate`; the loader refuses them
 * otherwise with "credentials-no-trusted-ca" or "credentials-incomplete"). Attempts made
 * through `open` fail through onClose with "clock-unset", "credentials-expired", the
 * Cognito/HTTP failures, the transport's failures, the WebSocket failures (e.g.
 * "websocket-upgrade-refused"); CONNACK refusals come from the MQTT client.
 */
export function assembleConnection<L = MqttConnection>(config: ConnectionConfig, credentials: ConnectionCredentials, platform: Platform, modes: readonly AnyConnectionMode[]): Result<L> {
  // `config` was validated for one of `modes`. The caller names the link its modes make (MQTT:
  // MqttConnection); boot passes it on unread.
  return modes.find((mode) => mode.name === config.mode)!.connect(config, credentials, platform) as Result<L>;
}

/** Failure "config-invalid" for `connection.<setting>` of `settings` (a mode's configure uses it). */
export function badSetting<S extends object>(settings: S, name: keyof S & string, problem: string): Result<never> {
  return badField("connection." + name, settings[name], problem);
}

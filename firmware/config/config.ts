// Device configuration: defaults, then the manifest's `config`, then overrides kept in
// Preference (one JSON object under the key "config"), validated field by field.
//
// Pure: no platform access. Boot reads Preference and hands the parsed object in.

import { type Failure, type Result, fail, ok } from "../platform/failure.js";

export type ConnectionMode = "mtls" | "mtls-alpn" | "custom-auth" | "wss-custom-auth" | "wss-sigv4";
export type ProvisioningKind = "jitp" | "jitr" | "none";

export interface DeviceConfig {
  /** IoT data endpoint host name; may be filled in later from the credentials' settings. */
  endpoint: string;
  /** 0 means "the mode's standard port" (8883 for mtls, 443 otherwise). */
  port: number;
  /** SNI and the name checked on the server certificate; empty means `endpoint`. */
  serverName: string;
  mode: ConnectionMode;
  /** May be filled in later from the credentials' settings. */
  thingName: string;
  /** Empty means `thingName`. */
  clientId: string;
  /** Topics are `<topicPrefix>/telemetry`, `/status`, `/cmd`; empty means `thingName`. */
  topicPrefix: string;
  provisioning: ProvisioningKind;
  keepAliveSeconds: number;
  cleanSession: boolean;
  /** Full-jitter backoff: delay = random(0 .. min(cap, base * 2^attempt)). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Never two CONNECTs for one client id closer than this (AWS allows 1 per second). */
  connectSpacingMs: number;
  /** Failed attempts before giving up while the device is not yet provisioned. */
  provisioningAttempts: number;
  /** While not provisioned, a "bad certificate" TLS alert within this time still means "provisioning". */
  provisioningGraceMs: number;
  /** Failed attempts in a row before giving up once provisioned; 0 = never give up. */
  reconnectAttempts: number;
  /** A session that lasts this long resets the backoff; shorter ones keep it growing. */
  stableSessionMs: number;
  /** This many short sessions in a row closed by the server are reported as a client-id takeover. */
  takeoverThreshold: number;
  telemetryIntervalMs: number;
  /** Telemetry kept while offline; the oldest is dropped only when full. */
  queueLimit: number;
  /** Publishes per second when draining the queue (AWS allows 100 per connection). */
  drainPerSecond: number;
  /** QoS 1 publishes handed to the MQTT client and not yet acknowledged. */
  maxInFlight: number;
  /** How long boot waits for the clock to be set before it stops. */
  clockWaitMs: number;
  /** Mode-specific settings (authorizer name, token, SigV4 region...) for firmware/connection. */
  connection: Record<string, unknown>;
}

export const defaultConfig: Readonly<DeviceConfig> = Object.freeze({
  endpoint: "",
  port: 0,
  serverName: "",
  mode: "mtls",
  thingName: "",
  clientId: "",
  topicPrefix: "",
  provisioning: "jitp",
  keepAliveSeconds: 60,
  cleanSession: false,
  backoffBaseMs: 1000,
  backoffCapMs: 60_000,
  connectSpacingMs: 1000,
  provisioningAttempts: 10,
  provisioningGraceMs: 60_000,
  reconnectAttempts: 0,
  stableSessionMs: 30_000,
  takeoverThreshold: 3,
  telemetryIntervalMs: 5000,
  queueLimit: 100,
  drainPerSecond: 10,
  maxInFlight: 10,
  clockWaitMs: 30_000,
  connection: Object.freeze({}) as Record<string, unknown>,
});

type FieldRule =
  | { kind: "int"; min: number; max: number }
  | { kind: "string"; max: number; hostname?: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "bool" }
  | { kind: "object" };

const rules: { [K in keyof DeviceConfig]: FieldRule } = {
  endpoint: { kind: "string", max: 253, hostname: true },
  port: { kind: "int", min: 0, max: 65535 },
  serverName: { kind: "string", max: 253, hostname: true },
  mode: { kind: "enum", values: ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"] },
  thingName: { kind: "string", max: 128 },
  clientId: { kind: "string", max: 128 },
  topicPrefix: { kind: "string", max: 128 },
  provisioning: { kind: "enum", values: ["jitp", "jitr", "none"] },
  keepAliveSeconds: { kind: "int", min: 30, max: 1200 },
  cleanSession: { kind: "bool" },
  backoffBaseMs: { kind: "int", min: 1, max: 3_600_000 },
  backoffCapMs: { kind: "int", min: 1, max: 3_600_000 },
  connectSpacingMs: { kind: "int", min: 1000, max: 3_600_000 },
  provisioningAttempts: { kind: "int", min: 1, max: 1000 },
  provisioningGraceMs: { kind: "int", min: 0, max: 86_400_000 },
  reconnectAttempts: { kind: "int", min: 0, max: 1_000_000 },
  stableSessionMs: { kind: "int", min: 0, max: 86_400_000 },
  takeoverThreshold: { kind: "int", min: 2, max: 1000 },
  telemetryIntervalMs: { kind: "int", min: 100, max: 86_400_000 },
  queueLimit: { kind: "int", min: 1, max: 10_000 },
  drainPerSecond: { kind: "int", min: 1, max: 90 },
  maxInFlight: { kind: "int", min: 1, max: 100 },
  clockWaitMs: { kind: "int", min: 0, max: 3_600_000 },
  connection: { kind: "object" },
};

export type ConfigSource = "manifest" | "preference";

export interface LoadedConfig {
  config: DeviceConfig;
  /** Manifest keys that are not ours (Moddable's own, like ssid or sntp), logged so typos show. */
  ignored: string[];
}

/**
 * Defaults, overlaid by the manifest's `config`, overlaid by the Preference overrides.
 * Returns a Failure "config-invalid" naming the field, its value and where it came from when a
 * value is of the wrong type or out of range, or when a Preference key is not a config field.
 */
export function loadConfig(manifest: unknown, overrides?: unknown): Result<LoadedConfig> {
  const ignored: string[] = [];
  const merged: Record<string, unknown> = { ...defaultConfig, connection: { ...defaultConfig.connection } };
  for (const [source, layer] of [["manifest", manifest], ["preference", overrides]] as const) {
    if (layer === undefined || layer === null) continue;
    if (typeof layer !== "object" || Array.isArray(layer)) {
      return fail("config-invalid", `config from the ${source} must be a JSON object, got ${show(layer)}: fix the ${where(source)}.`);
    }
    for (const [name, value] of Object.entries(layer as Record<string, unknown>)) {
      if (source === "manifest" && !(name in rules)) {
        ignored.push(name);
        continue;
      }
      const problem = checkField(name, value, source);
      if (problem) return { ok: false, failure: problem };
      merged[name] = name === "connection" ? { ...(merged.connection as object), ...(value as object) } : value;
    }
  }
  const config = merged as unknown as DeviceConfig;
  if (config.backoffCapMs < config.backoffBaseMs) {
    return fail("config-invalid", `config field "backoffCapMs" = ${config.backoffCapMs} is below "backoffBaseMs" = ${config.backoffBaseMs}: raise the cap or lower the base.`);
  }
  return ok({ config, ignored });
}

/**
 * Parses the Preference override string (JSON object). Returns undefined for an absent value,
 * a Failure "config-invalid" when it is not a JSON object.
 */
export function parseOverrides(stored: string | Uint8Array | undefined): Result<unknown> {
  if (stored === undefined) return ok(undefined);
  const text = typeof stored === "string" ? stored : new TextDecoder().decode(stored);
  try {
    return ok(JSON.parse(text));
  } catch {
    return fail("config-invalid", `Preference "config" is not valid JSON (${text.length} bytes): rewrite it or remove it to use the manifest's config.`);
  }
}

/**
 * Fills what only the credentials know (thing name, endpoint) and derives the defaults that
 * depend on other fields. Returns a Failure "config-invalid" when thingName or endpoint is
 * still missing.
 */
export function completeConfig(config: DeviceConfig, settings: Record<string, string>): Result<DeviceConfig> {
  const done = { ...config };
  if (!done.thingName && settings.thingName) done.thingName = settings.thingName;
  if (!done.endpoint && settings.endpoint) done.endpoint = settings.endpoint;
  if (!done.thingName) return fail("config-invalid", `config field "thingName" is empty: set it in the manifest's config, in Preference "config", or in the credentials' settings.`);
  if (!done.endpoint) return fail("config-invalid", `config field "endpoint" is empty: set the IoT data endpoint (e.g. "xxxx-ats.iot.us-east-1.amazonaws.com") in the manifest's config or the credentials' settings.`);
  const problem = checkField("thingName", done.thingName, "manifest") ?? checkField("endpoint", done.endpoint, "manifest");
  if (problem) return { ok: false, failure: problem };
  if (!done.clientId) done.clientId = done.thingName;
  if (!done.topicPrefix) done.topicPrefix = done.thingName;
  if (!done.serverName) done.serverName = done.endpoint;
  if (!done.port) done.port = done.mode === "mtls" ? 8883 : 443;
  return ok(done);
}

function checkField(name: string, value: unknown, source: ConfigSource): Failure | undefined {
  const rule = (rules as Record<string, FieldRule | undefined>)[name];
  const bad = (expect: string): Failure => ({
    code: "config-invalid",
    message: `config field "${name}" = ${show(value)} (from the ${source}) ${expect}: fix the ${where(source)}.`,
    retryable: false,
  });
  if (!rule) return bad(`is not a config field (known: ${Object.keys(rules).join(", ")})`);
  switch (rule.kind) {
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        return bad(`must be an integer from ${rule.min} to ${rule.max}`);
      }
      return undefined;
    case "string":
      if (typeof value !== "string" || value.length > rule.max) return bad(`must be a string of at most ${rule.max} characters`);
      if (rule.hostname && value !== "" && !/^[A-Za-z0-9.:-]+$/.test(value)) return bad("must be a host name");
      if (name === "clientId" && value.startsWith("$")) return bad("must not start with \"$\"");
      if (name === "topicPrefix" && /[#+]/.test(value)) return bad("must not contain MQTT wildcards");
      return undefined;
    case "enum":
      if (typeof value !== "string" || !rule.values.includes(value)) return bad(`must be one of ${rule.values.join(", ")}`);
      return undefined;
    case "bool":
      return typeof value === "boolean" ? undefined : bad("must be true or false");
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value) ? undefined : bad("must be an object");
  }
}

function where(source: ConfigSource): string {
  return source === "manifest" ? "manifest's \"config\" section" : "JSON stored in Preference \"config\"";
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value);
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}

// Device configuration: defaults, then the manifest's `config`, then overrides kept in
// Preference (one JSON object under the key "config"), validated field by field. The field
// checker here also serves the connection settings (firmware/connection/config.ts).
//
// Pure: no platform access. Boot reads Preference and hands the parsed object in.

import { fail, failure, ok, type Failure, type Result } from "../platform/failure.js";

/** The log levels, least first: a line is kept when its level is at least the config's. */
export const LOG_LEVELS = ["debug", "info", "warn", "off"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type ProvisioningKind = "jitp" | "jitr" | "fleet" | "none";

export interface DeviceConfig {
  /** IoT data endpoint host name; may be filled in later from the credentials' settings. */
  endpoint: string;
  /** 0 means "the mode's standard port" (8883 for mtls, 443 otherwise). */
  port: number;
  /** SNI and the name checked on the server certificate; empty means `endpoint`. */
  serverName: string;
  /** A connection mode the build carries (firmware/connection: the manifest chooses which). */
  mode: string;
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
  /** Lines below this level are dropped (firmware/platform/seam.ts Log); "off" drops all. */
  logLevel: LogLevel;
  /** Mode-specific settings (authorizer name, token, SigV4 region...) for firmware/connection. */
  connection: Record<string, unknown>;
  /** Per feature the build carries, its settings (firmware/features): `{ "<feature>": { ... } }`. */
  features: Record<string, unknown>;
}

/**
 * What a value must be: `[min, max]` an integer in that range; a number, a string of at most
 * that many characters without control characters; "host" a host name or IP address (or
 * empty); a list of strings, one of them; "boolean" or "object" a value of that type.
 */
export type Rule = readonly [number, number] | number | "host" | readonly string[] | "boolean" | "object";

const HOURS = 3_600_000;
const DAY = 86_400_000;

// Every field once: its default and its rule.
export const CONFIG_FIELDS: { [K in keyof DeviceConfig]: [DeviceConfig[K], Rule] } = {
  endpoint: ["", "host"],
  port: [0, [0, 65535]],
  serverName: ["", "host"],
  mode: ["mtls", 32],
  thingName: ["", 128],
  clientId: ["", 128],
  topicPrefix: ["", 128],
  provisioning: ["jitp", ["jitp", "jitr", "fleet", "none"]],
  keepAliveSeconds: [60, [30, 1200]],
  cleanSession: [false, "boolean"],
  backoffBaseMs: [1000, [1, HOURS]],
  backoffCapMs: [60_000, [1, HOURS]],
  connectSpacingMs: [1000, [1000, HOURS]],
  provisioningAttempts: [10, [1, 1000]],
  provisioningGraceMs: [60_000, [0, DAY]],
  reconnectAttempts: [0, [0, 1_000_000]],
  stableSessionMs: [30_000, [0, DAY]],
  takeoverThreshold: [3, [2, 1000]],
  telemetryIntervalMs: [5000, [100, DAY]],
  queueLimit: [100, [1, 10_000]],
  drainPerSecond: [10, [1, 90]],
  maxInFlight: [10, [1, 100]],
  clockWaitMs: [30_000, [0, HOURS]],
  logLevel: ["info", LOG_LEVELS],
  connection: [{}, "object"],
  features: [{}, "object"],
};

const defaults: Record<string, unknown> = {};
for (const name in CONFIG_FIELDS) defaults[name] = CONFIG_FIELDS[name as keyof DeviceConfig][0];
export const defaultConfig = defaults as Readonly<DeviceConfig>;

const HOST = /^[a-z\d]([a-z\d-]*[a-z\d])?(\.[a-z\d]([a-z\d-]*[a-z\d])?)*$|^[\da-f:]+$/i;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\x00-\x1f\x7f]/;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Undefined when `value` satisfies `rule`; otherwise what it must be, e.g. "an integer from 0 to 9". */
export function mustBe(value: unknown, rule: Rule): string | undefined {
  const text = typeof value === "string";
  const [fits, what] = typeof rule === "number" ? [text && value.length <= rule && !CONTROL.test(value), `a string of at most ${rule} characters`]
    : rule === "host" ? [value === "" || (text && value.length <= 253 && HOST.test(value)), "a host name or IP address"]
    : rule === "boolean" ? [typeof value === rule, "true or false"]
    : rule === "object" ? [isObject(value), "an object"]
    : typeof rule[0] === "number" ? [Number.isInteger(value) && (value as number) >= rule[0] && (value as number) <= (rule[1] as number), `an integer from ${rule[0]} to ${rule[1]}`]
    : [(rule as readonly unknown[]).includes(value), `one of ${rule.join(", ")}`];
  return fits ? undefined : what;
}

/**
 * Undefined when `value` satisfies `rule`; otherwise the problem as a sentence's end: "must be
 * ..." or, without a rule, "is not a <what> (known: <the names in `known`>)".
 */
export function fieldProblem(rule: Rule | false | undefined, value: unknown, what?: string, known?: object): string | undefined {
  if (!rule) return `is not a ${what} (known: ${Object.keys(known!).join(", ") || "none"})`;
  const wrong = mustBe(value, rule);
  return wrong && "must be " + wrong;
}

/** Failure "config-invalid" with `message`. */
export function configInvalid(message: string): Result<never> {
  return fail("config-invalid", message);
}

/** Settings whose values never appear in a message (the last part of a field's dotted name). */
const SECRETS = ["token", "tokenSignature", "password", "secretAccessKey", "sessionToken"];

/** `config field "<field>" = <value> <problem>.`; secrets are withheld. */
function fieldSentence(field: string, value: unknown, problem: string): string {
  const shown = value === undefined ? "unset"
    : SECRETS.includes(field.split(".").pop()!) ? "(withheld)"
    : typeof value === "string" ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)
    : isObject(value) ? "an object" : Array.isArray(value) ? "an array" : String(value);
  return `config field "${field}" = ${shown} ${problem}.`;
}

/** Failure "config-invalid": `config field "<field>" = <value> <problem>.`; secrets are withheld. */
export function invalidField(field: string, value: unknown, problem: string): Failure {
  return failure("config-invalid", fieldSentence(field, value, problem));
}

/** The Result of invalidField's Failure. */
export function badField(field: string, value: unknown, problem: string): Result<never> {
  return configInvalid(fieldSentence(field, value, problem));
}

export interface LoadedConfig {
  config: DeviceConfig;
  /** Manifest keys that are not ours (Moddable's own, like ssid or sntp), logged so typos show. */
  ignored: string[];
}

/** What a text field must not match, besides its rule. */
const SPECIAL: Record<string, [RegExp, string]> = { clientId: [/^\$/, "not starting with \"$\""], topicPrefix: [/[#+]/, "free of MQTT wildcards"] };

/**
 * Defaults, overlaid by the manifest's `config`, overlaid by the Preference overrides.
 * Returns a Failure "config-invalid" naming the field, its value and the source to fix when a
 * value is of the wrong type or out of range, or when a Preference key is not a config field.
 */
export function loadConfig(manifest: unknown, overrides?: unknown): Result<LoadedConfig> {
  const ignored: string[] = [];
  // The defaults' `connection` and `features` objects are never changed: overlay copies them.
  const config: Record<string, unknown> = { ...defaultConfig };
  for (const [source, layer] of [["manifest", manifest], ["preference", overrides]] as const) {
    if (layer == null) continue;
    if (!isObject(layer)) return configInvalid(`config from the ${source} must be a JSON object: fix it.`);
    for (const name in layer) {
      const value = layer[name];
      const rule = CONFIG_FIELDS[name as keyof DeviceConfig]?.[1];
      // Only the manifest holds keys that are not ours.
      if (!rule && source === "manifest") ignored.push(name);
      else {
        const special = SPECIAL[name];
        const problem = fieldProblem(rule, value, "config field", CONFIG_FIELDS) ?? (special && special[0].test(value as string) ? "must be " + special[1] : undefined);
        // "fix its \"config\"": the manifest's "config", or the Preference key "config".
        if (problem) return badField(name, value, `(from the ${source}) ${problem}: fix its "config"`);
        // `connection` and `features` are overlaid, not replaced.
        config[name] = rule === "object" ? overlay(config[name] as Record<string, unknown>, value as Record<string, unknown>) : value;
      }
    }
  }
  const { backoffCapMs, backoffBaseMs } = config as unknown as DeviceConfig;
  return backoffCapMs < backoffBaseMs ? badField("backoffCapMs", backoffCapMs, `is below "backoffBaseMs" = ${backoffBaseMs}: raise the cap or lower the base`)
    : ok({ config: config as unknown as DeviceConfig, ignored });
}

/**
 * `layer` over `base`, one level deep: an override of `connection.token` or of one feature's
 * setting (`features.<feature>.<setting>`) changes that one, not its neighbours.
 */
function overlay(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base };
  for (const name in layer) merged[name] = isObject(base[name]) && isObject(layer[name]) ? { ...base[name], ...layer[name] } : layer[name];
  return merged;
}

/** Preference key of the config overrides (ESP32 NVS: at most 15 characters). */
export const CONFIG_KEY = "config";

/**
 * Parses the Preference override string (JSON object). Returns undefined for an absent value,
 * a Failure "config-invalid" when it is not JSON (without echoing the text).
 */
export function parseOverrides(stored: string | Uint8Array | undefined): Result<unknown> {
  try {
    return ok(stored === undefined ? stored : JSON.parse(typeof stored === "string" ? stored : new TextDecoder().decode(stored)));
  } catch {
    return configInvalid("Preference \"config\" is not valid JSON: rewrite or remove it.");
  }
}

/**
 * Fills what only the credentials know (thing name, endpoint) and derives the defaults that
 * depend on other fields. Returns a Failure "config-invalid" when thingName or endpoint is
 * still missing or invalid.
 */
export function completeConfig(config: DeviceConfig, settings: Record<string, string>): Result<DeviceConfig> {
  const done = { ...config };
  for (const name of ["thingName", "endpoint"] as const) {
    const value = done[name] ||= settings[name]!;
    const problem = value ? fieldProblem(CONFIG_FIELDS[name][1], value) : "is empty";
    if (problem) return configInvalid(`config field "${name}" ${problem}: set it in the config or the credentials' settings.`);
  }
  done.clientId ||= done.thingName;
  done.topicPrefix ||= done.thingName;
  done.serverName ||= done.endpoint;
  return ok(done);
}

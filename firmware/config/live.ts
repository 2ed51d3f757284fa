// Config changed while the device runs: a live field (LIVE_FIELDS) is checked with the
// config's rule, applied at once and kept among the Preference "config" overrides, so the next
// boot starts with it. The feature runtime offers this to the features (FeatureContext.setConfig,
// setSetting), so only builds with features list this module (manifests/features/*.json).

import type { Failure } from "../platform/failure.js";
import type { Storage } from "../platform/seam.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { CONFIG_FIELDS, CONFIG_KEY, invalidField, isObject, mustBe, parseOverrides, type DeviceConfig } from "./config.js";

/**
 * The config fields a running device applies at once when they change (from its shadow, say):
 * telemetry's interval, offline queue size, drain rate and in-flight bound, and the log level.
 * The others take effect at the next boot.
 */
export const LIVE_FIELDS = ["telemetryIntervalMs", "queueLimit", "drainPerSecond", "maxInFlight", "logLevel"] as const;
export type LiveField = (typeof LIVE_FIELDS)[number];

/**
 * Checks a new value for a live field with the same rule as the config. Returns a Failure
 * "config-invalid" naming the field, the value and the rule, or one naming the live fields
 * when `name` is not one of them.
 */
export function checkLiveField(name: string, value: unknown): Failure | undefined {
  if (!(LIVE_FIELDS as readonly string[]).includes(name)) return invalidField(name, value, `is not a setting the device changes while running (those are ${LIVE_FIELDS.join(", ")})`);
  const problem = mustBe(value, CONFIG_FIELDS[name as LiveField][1]);
  return problem ? invalidField(name, value, "must be " + problem) : undefined;
}

/**
 * Sets `config[name] = value` for a live field, applies it to telemetry and keeps it in
 * Preference. Returns checkLiveField's Failure "config-invalid" (nothing changed) when refused.
 */
export function setLiveField(storage: Storage, config: DeviceConfig, telemetry: Pick<Telemetry, "reconfigure">, name: string, value: unknown): Failure | undefined {
  const refused = checkLiveField(name, value);
  if (refused) return refused;
  (config as unknown as Record<string, unknown>)[name] = value;
  telemetry.reconfigure({ [name]: value });
  keepOverride(storage, [name], value);
  return undefined;
}

/**
 * Keeps `value` at `path` among the Preference "config" overrides (`["telemetryIntervalMs"]`,
 * `["features", "<feature>", "<name>"]`), so the next boot's config has it.
 */
export function keepOverride(storage: Storage, path: readonly string[], value: unknown): void {
  const stored = parseOverrides(storage.get(CONFIG_KEY));
  const overrides = stored.ok && isObject(stored.value) ? stored.value : {};
  let at = overrides;
  for (const key of path.slice(0, -1)) {
    const next = isObject(at[key]) ? { ...at[key] } : {};
    at[key] = next;
    at = next;
  }
  at[path[path.length - 1]!] = value;
  storage.set(CONFIG_KEY, JSON.stringify(overrides));
}

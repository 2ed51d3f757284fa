// Config changed while the device runs: a live field (config.ts LIVE_FIELDS) is checked with the
// config's rule, applied at once and kept among the Preference "config" overrides, so the next
// boot starts with it. The feature runtime offers this to the features (FeatureContext.setConfig,
// setSetting), so only builds with features list this module (manifests/features/*.json).

import type { Failure } from "../platform/failure.js";
import type { Storage } from "../platform/seam.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { checkLiveField, CONFIG_KEY, isObject, parseOverrides, type DeviceConfig } from "./config.js";

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

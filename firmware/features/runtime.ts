// The feature runtime: starts the features a build carries, gives each its context, routes the
// messages of their subscriptions and tells them when a session is up or down. Only builds that
// carry features list this module (manifests/features/*.json): a build without any carries none
// of it, and its session runs no feature.

import { invalidField, isObject, mustBe, type Rule } from "../config/config.js";
import { ok, type Result } from "../platform/failure.js";
import { keepOverride, setLiveField } from "../config/live.js";
import { FIRMWARE_VERSION, checkFeatureNames, type DeviceFacts, type Feature, type RunningFeatures, type StartFeatures } from "./feature.js";
import type { Log } from "../platform/seam.js";

/** A message's payload as a JSON object, or undefined when it is not one (features' answers from AWS). */
export function jsonObject(payload: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(payload));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** MQTT filter match: `+` one level, `#` the rest (AWS IoT: `$` topics only by explicit filters). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return i > 0 || topic[0] !== "$";
    if (i >= t.length || (f[i] !== t[i] && (f[i] !== "+" || (i === 0 && topic[0] === "$")))) return false;
  }
  return f.length === t.length;
}

/**
 * A feature's settings: each default overlaid by `given` (the config's `features.<feature>`).
 * Returns a Failure "config-invalid" naming `features.<feature>.<setting>` when a value breaks
 * its rule or is not one of the feature's settings.
 */
export function featureSettings(feature: string, rules: Readonly<Record<string, readonly [unknown, Rule]>>, given: unknown): Result<Record<string, unknown>> {
  const field = "features." + feature;
  if (given !== undefined && !isObject(given)) return { ok: false, failure: invalidField(field, given, "must be an object") };
  const settings: Record<string, unknown> = {};
  for (const name in rules) settings[name] = rules[name]![0];
  for (const name in given) {
    const rule = rules[name]?.[1];
    const problem = rule ? mustBe(given[name], rule) : `is not a setting of feature ${feature} (known: ${Object.keys(rules).join(", ") || "none"})`;
    if (problem) return { ok: false, failure: invalidField(`${field}.${name}`, given[name], rule ? "must be " + problem : problem) };
    settings[name] = given[name];
  }
  return ok(settings);
}

/** Starts each of `host.features` with its context (see StartFeatures). */
const start = (...[host, client, telemetry, endSession]: Parameters<StartFeatures>): RunningFeatures => {
  const { platform, config, report } = host;
  let lastFailure: DeviceFacts["lastFailure"] = null;
  let quiet = false;
  let ended = false;
  host.report = (status) => {
    if (status.code) lastFailure = { code: status.code, message: status.message };
    if (!quiet) report(status);
  };
  // A feature's restart or stop: ends the session (without reporting "stopped"), then `then`;
  // not when the session has ended already (the device stopped, or another restart came first).
  const end = (then: () => void) => void platform.timers.setTimeout(() => {
    if (ended) return;
    quiet = true;
    endSession();
    quiet = false;
    then();
  }, 0);
  const startedAt = platform.clock.now();
  // The image this session runs (a host runtime that booted an OTA image knows its version); a
  // new one takes effect only after a restart, which starts the features again.
  const firmware = platform.update?.version() ?? FIRMWARE_VERSION;
  const subscriptions: { filter: string; qos: 0 | 1; onMessage: (topic: string, payload: Uint8Array) => void }[] = [];
  const ups: (() => void)[] = [];
  const downs: (() => void)[] = [];
  const stops: (() => void)[] = [];
  let up = false;
  const send = (filters: { filter: string; qos: 0 | 1 }[]) => {
    // AWS IoT Core takes at most 8 filters in one SUBSCRIBE.
    for (let i = 0; i < filters.length; i += 8) {
      const refused = client.subscribe(filters.slice(i, i + 8), (result) => {
        if (Array.isArray(result) && result.includes(0x80)) platform.log(`features: a subscription among ${filters.map((f) => f.filter).join(", ")} was refused by the policy`, 2);
      });
      if (refused) platform.log(`features: subscribe not sent: ${refused.code}`, 2);
    }
  };
  host.features.forEach((feature, i) => {
    const values = host.featureSettings[i]!;
    const log: Log = (line, level) => platform.log(feature.name + ": " + line, level);
    const started = feature.start({
      thingName: config.thingName,
      topicPrefix: config.topicPrefix,
      platform,
      log,
      status: host.status,
      publish: client.publish.bind(client),
      subscribe(filter, qos, onMessage) {
        const subscription = { filter, qos, onMessage };
        subscriptions.push(subscription);
        if (up) send([subscription]);
      },
      onSessionUp: (listener) => void ups.push(listener),
      onSessionDown: (listener) => void downs.push(listener),
      setting: (name) => values[name],
      setSetting(name, value) {
        const checked = featureSettings(feature.name, feature.settings, { [name]: value });
        if (!checked.ok) return checked.failure;
        values[name] = value;
        keepOverride(platform.storage, ["features", feature.name, name], value);
      },
      restart: (reason) => end(() => {
        log("restart: " + reason);
        host.restart(reason);
      }),
      stop: (failure) => end(() => host.stop(failure)),
      config: (name) => (config as unknown as Record<string, unknown>)[name],
      setConfig: (name, value) => setLiveField(platform.storage, config, telemetry, name, value),
      codeSigners: host.credentials.codeSigners ?? [],
      facts: () => ({
        firmware, mode: host.mode.name, uptimeS: Math.floor((platform.clock.now() - startedAt) / 1000), queued: telemetry.stats.queued, lastFailure,
      }),
    });
    if (started?.stop) stops.push(started.stop);
  });
  const each = (listeners: (() => void)[], what: string) => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (e) {
        platform.log(`features: a ${what} listener threw ${e}`, 2);
      }
    }
  };
  return {
    sessionUp() {
      up = true;
      send(subscriptions);
      each(ups, "session-up");
    },
    sessionDown() {
      if (!up) return;
      up = false;
      each(downs, "session-down");
    },
    message(topic, payload) {
      for (const s of subscriptions) {
        if (!topicMatches(s.filter, topic)) continue;
        try {
          s.onMessage(topic, payload);
        } catch (e) {
          platform.log(`features: the handler of ${s.filter} threw ${e}`, 2);
        }
      }
    },
    stop() {
      ended = true;
      each(stops, "stop");
    },
  };
};

/** StartFeatures.check. */
function check(features: readonly Feature[], given: Record<string, unknown>): Result<Record<string, unknown>[]> {
  const names = checkFeatureNames(features, given);
  if (!names.ok) return names;
  const all: Record<string, unknown>[] = [];
  for (const feature of features) {
    const settings = featureSettings(feature.name, feature.settings, given[feature.name]);
    if (!settings.ok) return settings;
    all.push(settings.value);
  }
  return ok(all);
}

/** StartFeatures.credentials: the last feature that chooses credentials wins; one that fails stops the device. */
const credentials: StartFeatures["credentials"] = (features, loaded, platform, featureSettings) => {
  let chosen = { credentials: loaded, features, featureSettings, exclusive: false };
  for (let i = 0; i < features.length; i++) {
    const choice = features[i]!.credentials?.(chosen.credentials, platform, featureSettings[i]!);
    if (choice && !choice.ok) return choice;
    // A session of the feature's own runs that feature only.
    if (choice) chosen = choice.value.exclusive ? { ...choice.value, features: [features[i]!], featureSettings: [featureSettings[i]!] } : { ...chosen, credentials: choice.value.credentials };
  }
  return ok(chosen);
};

/** The feature runtime: starts the features (see StartFeatures), checks their settings, lets them choose credentials. */
export const startFeatures: StartFeatures = Object.assign(start, { check, credentials });

// The platform entry loads this module by specifier (Modules.importNow gives the default export).
export default startFeatures;

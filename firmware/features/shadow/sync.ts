// The device's side of its classic Device Shadow: after each connect it gets the shadow,
// applies `desired` settings through the same rules as the config, and reports what it runs
// and what it is; deltas are applied as they arrive. An invalid desired value is not applied
// and is reported back under `reported.rejected.<setting>` with the reason. A report refused
// for a version conflict is resolved by getting the shadow again; reports are coalesced (one
// per `coalesceMs`) and bounded (`reportsPerMinute`), so a burst of deltas never floods the
// shadow. Topics and documents as AWS documents them (docs/device-shadow.md).
//
// Pure: the MQTT session, timers, clock, settings and device facts come in through `ShadowPort`.

import { isObject } from "../../config/config.js";
import type { Failure } from "../../platform/failure.js";
import { jsonObject } from "../runtime.js";
import type { Log, TimerHandle, Timers } from "../../platform/seam.js";

type Doc = Record<string, unknown>;

export interface ShadowPort {
  thingName: string;
  timers: Timers;
  /** ms; any monotonic-enough clock (the rate bound counts from it) */
  now(): number;
  /** Lines about the shadow (the host prefixes them with the feature's name). */
  log: Log;
  /** Publishes on the session; a Failure when not sent (offline). */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1): Failure | undefined;
  /** Subscribes on every session (the host resends the filters after each connect). */
  subscribe(filters: string[], onMessage: (topic: string, payload: Uint8Array) => void): void;
  onSessionUp(listener: () => void): void;
  onSessionDown(listener: () => void): void;
  /** The current value of a setting the shadow may change. */
  setting(name: string): unknown;
  /** Checks, applies at once and keeps (across reboots) a setting; a Failure naming the rule when refused. */
  apply(name: string, value: unknown): Failure | undefined;
  /** What the device is (firmware, mode, uptime, queue depth, last failure), reported as `device`. */
  facts(): Doc;
}

export interface ShadowOptions {
  /** The settings `desired` may change. */
  settable: readonly string[];
  /** At most this many reports in any 60 s. */
  reportsPerMinute: number;
  /** Changes within this time go out as one report. */
  coalesceMs: number;
}

export interface ShadowSync {
  /** The last shadow version the device knows (0: none yet). */
  readonly version: number;
  readonly reports: number;
  /** Feeds one message of the shadow's topics (the port's subscription calls it). */
  message(topic: string, payload: Uint8Array): void;
  stop(): void;
}

export const shadowTopic = (thingName: string) => `$aws/things/${thingName}/shadow`;

const MINUTE = 60_000;

const encoder = new TextEncoder();


/** Starts syncing; subscribes at once and gets the shadow after each connect. Never throws. */
export function startShadowSync(port: ShadowPort, options: ShadowOptions): ShadowSync {
  const base = shadowTopic(port.thingName);
  const sent: number[] = [];
  // Settings whose refusal is in the shadow's reported.rejected (cleared with null when resolved).
  const rejected: Record<string, string | null> = {};
  let version = 0;
  let reports = 0;
  let tokens = 0;
  let pendingToken: string | undefined;
  let reportTimer: TimerHandle | undefined;
  let up = false;
  let stopped = false;
  const tokenPrefix = "s" + (port.now() % 46656).toString(36) + "-";

  const say = port.log;
  const send = (op: string, body: Doc) => {
    const token = tokenPrefix + ++tokens;
    body.clientToken = token;
    const refused = port.publish(`${base}/${op}`, encoder.encode(JSON.stringify(body)), 1);
    if (refused) {
      say(`${op} not sent: ${refused.code}`, 2);
      return undefined;
    }
    return token;
  };
  const get = () => {
    pendingToken = send("get", {});
  };

  /** Applies each desired setting that differs from what runs, remembers refusals, then reports. */
  function applyDesired(desired: Doc, whole: boolean): void {
    for (const name in desired) {
      const value = desired[name];
      if (!options.settable.includes(name)) {
        rejected[name] = `not a setting this device takes from its shadow (it takes ${options.settable.join(", ")})`;
        continue;
      }
      if (same(port.setting(name), value)) {
        if (rejected[name]) rejected[name] = null;
        continue;
      }
      const refused = port.apply(name, value);
      if (refused) {
        rejected[name] = refused.message;
        say(`desired ${name} = ${JSON.stringify(value)} refused: ${refused.message}`, 2);
      } else {
        if (rejected[name]) rejected[name] = null;
        say(`desired ${name} = ${JSON.stringify(value)} applied`);
      }
    }
    // A get shows the whole desired state: refusals of settings no longer desired are resolved.
    if (whole) for (const name in rejected) if (rejected[name] && !(name in desired)) rejected[name] = null;
  }

  /** True while a refusal is on record: only a get tells whether the operator withdrew it. */
  const refusing = () => {
    for (const name in rejected) if (rejected[name]) return true;
    return false;
  };

  function scheduleReport(): void {
    if (reportTimer !== undefined || stopped) return;
    const now = port.now();
    while (sent.length && now - sent[0]! >= MINUTE) sent.shift();
    const wait = sent.length < options.reportsPerMinute ? options.coalesceMs : Math.max(options.coalesceMs, sent[0]! + MINUTE - now);
    reportTimer = port.timers.setTimeout(report, wait);
  }

  function report(): void {
    reportTimer = undefined;
    if (!up || stopped) return; // the next session's get reports again
    const reported: Doc = {};
    for (const name of options.settable) reported[name] = port.setting(name);
    reported.device = port.facts();
    const changes: Doc = {};
    let any = false;
    for (const name in rejected) {
      changes[name] = rejected[name];
      any = true;
    }
    if (any) reported.rejected = changes;
    const body: Doc = { state: { reported } };
    if (version) body.version = version;
    const token = send("update", body);
    if (!token) return;
    pendingToken = token;
    sent.push(port.now());
    reports++;
    for (const name in rejected) if (rejected[name] === null) delete rejected[name];
  }

  function message(topic: string, payload: Uint8Array): void {
    if (stopped || topic.slice(0, base.length + 1) !== base + "/") return;
    const doc = jsonObject(payload);
    if (!doc) return say(`unreadable message on ${topic}`, 2);
    const kind = topic.slice(base.length + 1);
    const ours = doc.clientToken !== undefined && doc.clientToken === pendingToken;
    const docVersion = typeof doc.version === "number" ? doc.version : 0;
    const state = isObject(doc.state) ? doc.state : {};
    if (kind === "update/delta") {
      // AWS may deliver deltas out of order: one older than what the device knows is stale.
      if (docVersion <= version) return;
      version = docVersion;
      applyDesired(state, false);
      // A delta lists only what differs, never a withdrawn setting: with refusals on record,
      // the whole desired state (a get) decides which still stand before the report.
      return refusing() ? get() : scheduleReport();
    }
    if (!ours) return; // another client's request and its answer
    pendingToken = undefined;
    if (kind === "get/accepted") {
      version = docVersion;
      say(`version ${version}`, 0);
      applyDesired(isObject(state.desired) ? state.desired : {}, true);
      return scheduleReport();
    }
    if (kind === "update/accepted") {
      version = docVersion;
      return;
    }
    const code = doc.code;
    if (kind === "get/rejected" && code === 404) {
      say("no shadow yet: reporting creates it");
      version = 0;
      return scheduleReport();
    }
    if (kind === "update/rejected" && code === 409) {
      say("report refused for a version conflict: getting the shadow again");
      return get();
    }
    say(`${kind}: ${code} ${doc.message}`, 2);
  }

  port.subscribe(["get/accepted", "get/rejected", "update/accepted", "update/rejected", "update/delta"].map((t) => `${base}/${t}`), message);
  port.onSessionUp(() => {
    up = true;
    get();
  });
  port.onSessionDown(() => {
    up = false;
    pendingToken = undefined;
  });

  return {
    get version() { return version; },
    get reports() { return reports; },
    message,
    stop() {
      stopped = true;
      if (reportTimer !== undefined) port.timers.clearTimeout(reportTimer);
      reportTimer = undefined;
    },
  };
}

/** Equal JSON values (settings are scalars or small objects). */
function same(a: unknown, b: unknown): boolean {
  return a === b || (isObject(a) && isObject(b) && JSON.stringify(a) === JSON.stringify(b));
}

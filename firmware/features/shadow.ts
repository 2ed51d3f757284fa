// The Device Shadow feature: the device's classic shadow carries its live settings. After each
// connect the device gets the shadow, applies `desired` through the config's own rules (at once,
// and kept across reboots), and reports its settings and what it is; deltas are applied as they
// arrive. The work is in features/shadow/sync.ts; this module binds it to the feature context.

import type { Feature } from "./feature.js";
import { LIVE_FIELDS } from "../config/live.js";
import { startShadowSync } from "./shadow/sync.js";

const shadow: Feature = {
  name: "shadow",
  settings: {
    // At most this many reports in any minute (AWS allows far more; a device should not need it).
    reportsPerMinute: [10, [1, 60]],
    // Deltas arriving within this time are answered by one report.
    coalesceMs: [250, [0, 60_000]],
  },
  start(context) {
    const sync = startShadowSync({
      thingName: context.thingName,
      timers: context.platform.timers,
      now: () => context.platform.clock.now(),
      log: context.log,
      publish: (topic, payload, qos) => context.publish(topic, payload, qos),
      subscribe: (filters, onMessage) => { for (const filter of filters) context.subscribe(filter, 1, onMessage); },
      onSessionUp: (listener) => context.onSessionUp(listener),
      onSessionDown: (listener) => context.onSessionDown(listener),
      setting: (name) => context.config(name),
      apply: (name, value) => context.setConfig(name, value),
      facts: () => ({ ...context.facts() }),
    }, {
      settable: LIVE_FIELDS,
      reportsPerMinute: context.setting("reportsPerMinute") as number,
      coalesceMs: context.setting("coalesceMs") as number,
    });
    return { stop: () => sync.stop() };
  },
};

export default shadow;

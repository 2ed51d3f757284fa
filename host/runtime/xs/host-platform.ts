// The host-side Platform an XS runtime serves its guest from: the Node platform (node:tls,
// files in the state directory, node:crypto), with time optionally replaced by a test's clock.

import type { Clock, Platform, Timers } from "../../../firmware/platform/seam.js";
import { createNodePlatform, type NodePlatformOptions } from "../node/platform.js";

export interface HostPlatformOptions extends NodePlatformOptions {
  /** Clock and timers instead of the real ones (e.g. a ManualTime in tests). */
  time?: Clock & Timers;
}

/** Throws only if `storageDir` cannot be created. */
export function createHostPlatform(options: HostPlatformOptions): Platform {
  const platform = createNodePlatform(options);
  const time = options.time;
  if (!time) return platform;
  return {
    ...platform,
    clock: { now: () => time.now(), isSet: () => time.isSet() },
    timers: { setTimeout: (callback, ms) => time.setTimeout(callback, ms), clearTimeout: (handle) => time.clearTimeout(handle) },
  };
}

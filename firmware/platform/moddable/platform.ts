// Builds the seam's Platform from the Moddable bindings.

import type { Platform } from "../seam.js";
import { clock } from "./clock.js";
import { crypto } from "./crypto.js";
import { preferenceStorage } from "./storage.js";
import { timers } from "./timers.js";
import { openTransport } from "./transport.js";

/** The Platform, with storage in the Preference domain `domain`; it logs through `trace`. */
export function moddablePlatform(domain: string): Platform {
  return {
    clock,
    timers,
    random: Math.random,
    storage: preferenceStorage(domain),
    crypto,
    // `trace` reaches xsbug (or xsbug-log) and the serial console; one line per call.
    log: (line) => trace(line + "\n"),
    openTransport,
  };
}

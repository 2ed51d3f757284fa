// Builds the seam's Platform from the Moddable bindings.

import type { Log, Platform } from "../seam.js";
import { clock } from "./clock.js";
import { crypto } from "./crypto.js";
import { preferenceStorage } from "./storage.js";
import { timers } from "./timers.js";
import { openTransport } from "./transport.js";

/** Moddable's `trace` reaches xsbug (or xsbug-log) and the serial console; one line per call. */
export const traceLog: Log = (line) => trace(line + "\n");

/** The Platform, with storage in the Preference domain `domain`. */
export function moddablePlatform(domain: string, log: Log = traceLog): Platform {
  return {
    clock,
    timers,
    random: Math.random,
    storage: preferenceStorage(domain),
    crypto,
    log,
    openTransport,
  };
}

// The seam's clock: the XS Date, which Moddable's network setup sets from SNTP on the device and
// the desktop simulator takes from the host. `syncClock` asks SNTP itself when that did not happen.

import SNTP from "sntp";
import Time from "time";
import type { Clock, Log } from "../seam.js";

// Any time before this build was made cannot be the real time: the clock was never set.
const EARLIEST_PLAUSIBLE = Date.UTC(2025, 0, 1);

export const clock: Clock = {
  now: () => Date.now(),
  isSet: () => Date.now() >= EARLIEST_PLAUSIBLE,
};

/**
 * Sets the clock from SNTP unless it is already set. Calls `done(true)` once the clock is set,
 * `done(false)` when the server gave no time (boot then reports the unset clock); never throws.
 */
export function syncClock(host: string | undefined, log: Log, done: (set: boolean) => void): void {
  if (clock.isSet()) return done(true);
  if (!host) {
    log("clock: not set and no SNTP server configured (config.sntp)");
    return done(false);
  }
  log(`clock: asking ${host} (SNTP)`);
  try {
    new SNTP({ host }, (message, value) => {
      if (message === SNTP.time && value !== undefined) {
        Time.set(value);
        log(`clock: set from ${host}`);
        done(true);
      } else if (message === SNTP.error) {
        log(`clock: ${host} gave no time`);
        done(false);
      }
    });
  } catch (e) {
    log(`clock: SNTP unavailable (${e instanceof Error ? e.message : String(e)})`);
    done(false);
  }
}

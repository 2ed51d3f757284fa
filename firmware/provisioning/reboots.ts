// What a reboot must not forget: when the device last sent CONNECT, and how many boots in a
// row went by without a lasting session. Kept in Preference (ESP32 NVS survives a crash, a
// watchdog reset and a power cut), so that a device crashing in a loop still paces its
// CONNECTs as AWS requires (never two within the spacing, never faster than the backoff) and
// can say that it reboots in a loop. Pure but for the storage passed in.

import type { Storage } from "../platform/seam.js";
import { nextAttemptDelay, type BackoffParams } from "./backoff.js";

/** Preference keys (at most 15 characters): epoch ms of the last CONNECT, boots without a lasting session. */
export const LAST_CONNECT_KEY = "lastConnect";
export const BOOTS_KEY = "bootsNoSession";
/** From this many boots in a row without a lasting session, the device says it reboots in a loop. */
export const REBOOT_LOOP_BOOTS = 3;

/**
 * Counts this boot (written back at once) and returns it with the delay before the first
 * CONNECT: at least the spacing after the last CONNECT before the reboot (a stored time in the
 * future, from a clock set back, counts as now), and from the second boot in a row the
 * backoff of that many retries. Never fails.
 */
export function countBoot(storage: Storage, now: number, random: number, params: BackoffParams): { boots: number; delayMs: number } {
  const boots = (Number(storage.get(BOOTS_KEY)) | 0) + 1;
  storage.set(BOOTS_KEY, "" + boots);
  const last = Number(storage.get(LAST_CONNECT_KEY));
  const delayMs = nextAttemptDelay(boots - 2, boots < 2 ? 0 : random, now, last >= 0 ? Math.min(last, now) : undefined, params);
  return { boots, delayMs };
}

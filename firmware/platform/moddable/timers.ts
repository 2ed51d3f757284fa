// The seam's timers on Moddable's `timer` module.

import Timer from "timer";
import type { Timers } from "../seam.js";

export const timers: Timers = {
  setTimeout(callback, ms) {
    return Timer.set(() => callback(), ms);
  },
  clearTimeout(handle) {
    // Clearing a timer that already fired is a no-op in Moddable.
    Timer.clear(handle as Timer | undefined);
  },
};

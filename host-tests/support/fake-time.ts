// Manual time plus a log that keeps its lines: what firmware unit tests hand the code as its
// platform's clock, timers and log.

import { ManualTime } from "../../host/runtime/manual-time.js";

export class FakeTime extends ManualTime {
  readonly lines: string[] = [];
  readonly log = (line: string) => { this.lines.push(line); };

  constructor(start = 1_700_000_000_000, set = true) {
    super(start, set);
  }

  /** The same object serves as the platform's clock and timers. */
  get clock(): this {
    return this;
  }

  get timers(): this {
    return this;
  }
}

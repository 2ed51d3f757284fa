// Guest side of the XS benchmarks: measures one operation in computrons with xsnap's meter,
// read before and after inside the same crank, less the cost of reading it. Runs inside XS.

import { readMeter, xs } from "../runtime/xs/guest/bridge.js";

let overhead = -1;

/** Computrons spent by `operation`, excluding the meter reads around it. */
export function computrons(operation: () => void): number {
  if (overhead < 0) {
    const a = readMeter();
    const b = readMeter();
    overhead = b - a;
  }
  const start = readMeter();
  operation();
  return readMeter() - start - overhead;
}

/** Collects garbage, so that the crank's reported heap count is the live set. */
export function collect(): void {
  xs.gc();
}

/** Runs `operation` once to warm up (first-use costs: interned names, cached topic), then measures it. */
export function steadyComputrons(operation: () => void): number {
  operation();
  return computrons(operation);
}

// Memory of the running firmware, read from Moddable's Instrumentation: chunk heap, slot heap
// and stack, each as used now and as the peak since boot. Built only into measurement runs
// (manifests/memory.json, which `npm run sim -- --memory` includes); main.ts marks the points:
// boot, the end of the first TLS handshake, the first CONNACK, the 20th acknowledged message.
//
// The heaps are sampled every SAMPLE_MS after a garbage collection, so the figures are live
// data between callbacks (what the heaps must hold), not garbage waiting for a collection; the
// stack figure is XS's own high-water mark (which also sees inside a callback).

import Debug from "debug";
import Instrumentation from "instrumentation";
import Timer from "timer";
import type { Log } from "../seam.js";

const SAMPLE_MS = 5;

export interface MemoryProbe {
  /** Logs one line `memory: {"point":..,"chunk":..,"chunkPeak":..,"slot":..,"slotPeak":..,"stack":..,"stackPeak":..}` (bytes). */
  mark(point: string): void;
  stop(): void;
}

/** Starts sampling; undefined when the runtime has no instrumentation (a release build without it). */
export default function startMemoryProbe(log: Log): MemoryProbe | undefined {
  const chunkIndex = Instrumentation.map("XS Chunk Heap Used");
  const slotIndex = Instrumentation.map("XS Slot Heap Used");
  const stackIndex = Instrumentation.map("XS Stack Used");
  if (chunkIndex === undefined || slotIndex === undefined || stackIndex === undefined) {
    log("memory: Moddable's instrumentation is not in this build; no figures");
    return undefined;
  }
  const peak = { chunk: 0, slot: 0, stack: 0 };
  const read = () => {
    Debug.gc();
    const now = {
      chunk: Instrumentation.get(chunkIndex) ?? 0,
      slot: Instrumentation.get(slotIndex) ?? 0,
      stack: Instrumentation.get(stackIndex) ?? 0,
    };
    peak.chunk = Math.max(peak.chunk, now.chunk);
    peak.slot = Math.max(peak.slot, now.slot);
    peak.stack = Math.max(peak.stack, now.stack);
    return now;
  };
  read();
  const sampler = Timer.repeat(() => void read(), SAMPLE_MS);
  return {
    mark(point) {
      const now = read();
      log("memory: " + JSON.stringify({ point, chunk: now.chunk, chunkPeak: peak.chunk, slot: now.slot, slotPeak: peak.slot, stack: now.stack, stackPeak: peak.stack }));
    },
    stop: () => Timer.clear(sampler),
  };
}

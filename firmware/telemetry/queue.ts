// The offline queue: telemetry waiting to be handed to the MQTT client. Bounded; when full the
// oldest sample goes, and the count of dropped samples is kept until a message reports it.

import type { Readings } from "./sensor.js";

export interface Sample {
  seq: number;
  ts: number;
  readings: Readings;
}

export interface SampleQueue {
  readonly length: number;
  /** Samples dropped since the last `takeDropped()`. */
  readonly dropped: number;
  /** Adds a sample; returns true when the oldest one had to be dropped to make room. */
  push(sample: Sample): boolean;
  /** The oldest sample, left in place; undefined when empty. */
  peek(): Sample | undefined;
  /** The oldest sample, removed; undefined when empty. */
  shift(): Sample | undefined;
  /** Returns the dropped count and starts counting again from zero. */
  takeDropped(): number;
  /** Changes the bound; when it shrinks below the length, the oldest samples are dropped (counted). */
  resize(limit: number): void;
}

/** An empty queue holding at most `limit` samples. Never fails. */
export function sampleQueue(limit: number): SampleQueue {
  const samples: Sample[] = [];
  let dropped = 0;
  return {
    get length() { return samples.length; },
    get dropped() { return dropped; },
    push(sample) {
      if (samples.push(sample) <= limit) return false;
      samples.shift();
      dropped += 1;
      return true;
    },
    resize(next) {
      limit = next;
      const over = samples.length - limit;
      if (over > 0) {
        samples.splice(0, over);
        dropped += over;
      }
    },
    peek: () => samples[0],
    shift: () => samples.shift(),
    takeDropped() {
      const taken = dropped;
      dropped = 0;
      return taken;
    },
  };
}

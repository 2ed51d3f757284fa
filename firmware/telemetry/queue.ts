// The offline queue: telemetry waiting to be handed to the MQTT client. Bounded; when full the
// oldest sample goes, and the count of dropped samples is kept until a message reports it.

import type { Readings } from "./sensor.js";

export interface Sample {
  seq: number;
  ts: number;
  readings: Readings;
}

export class SampleQueue {
  readonly #slots: (Sample | undefined)[];
  #head = 0;
  #length = 0;
  #dropped = 0;

  constructor(readonly limit: number) {
    this.#slots = new Array<Sample | undefined>(limit);
  }

  get length(): number {
    return this.#length;
  }

  /** Samples dropped since the last `takeDropped()`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds a sample; returns true when the oldest one had to be dropped to make room. */
  push(sample: Sample): boolean {
    const full = this.#length === this.limit;
    if (full) {
      this.#head = (this.#head + 1) % this.limit;
      this.#length -= 1;
      this.#dropped += 1;
    }
    this.#slots[(this.#head + this.#length) % this.limit] = sample;
    this.#length += 1;
    return full;
  }

  /** The oldest sample, left in place; undefined when empty. */
  peek(): Sample | undefined {
    return this.#length === 0 ? undefined : this.#slots[this.#head];
  }

  /** The oldest sample, removed; undefined when empty. */
  shift(): Sample | undefined {
    if (this.#length === 0) return undefined;
    const sample = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.limit;
    this.#length -= 1;
    return sample;
  }

  /** Returns the dropped count and starts counting again from zero. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}

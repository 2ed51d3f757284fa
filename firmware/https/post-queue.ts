// The readings not yet answered by a 200, kept in Preference so that they survive sleep and
// reboots: one JSON value `{"n": next sequence number, "d": dropped, "s": [[seq, ts, readings], ...]}`
// written after every change. Its bound is documented in the README: at most `limit` readings
// (the config's queueLimit) and one Preference value (ESP32 NVS: 4,000 bytes); past either, the
// oldest reading goes and is counted in `dropped`, reported in the next message as the MQTT
// modes do. Nothing else removes a reading but `answered()`.

import type { Storage } from "../platform/seam.js";
import type { Sample } from "../telemetry/queue.js";

/** Preference key (ESP32 NVS: at most 15 characters). */
export const POST_QUEUE_KEY = "postq";
/** ESP32 NVS keeps at most this many bytes in one Preference value. */
export const PREFERENCE_VALUE_BYTES = 4000;

export interface PostQueue {
  readonly length: number;
  /** Readings dropped by the bound and not yet reported in a message. */
  readonly dropped: number;
  /** The oldest reading, left in place. */
  first(): Sample | undefined;
  /** Adds a reading with the next sequence number; drops the oldest past the bound. */
  push(ts: number, readings: Sample["readings"]): Sample;
  /** A 200 answered the oldest reading (whose message reported `reported` dropped ones): it goes. */
  answered(reported: number): void;
}

/**
 * The queue as Preference holds it; an absent value is an empty queue, and a value that is not
 * this layout (a corrupt or foreign entry) is reported through `problem` and replaced. Never throws.
 */
export function loadPostQueue(storage: Storage, limit: number, problem: (sentence: string) => void): PostQueue {
  let next = 1;
  let dropped = 0;
  let samples: Sample[] = [];
  const stored = storage.get(POST_QUEUE_KEY);
  if (stored !== undefined) {
    const parsed = parse(typeof stored === "string" ? stored : new TextDecoder().decode(stored));
    if (parsed) ({ next, dropped, samples } = parsed);
    else problem(`Preference "${POST_QUEUE_KEY}" is not a post queue: it is replaced by an empty one (its readings cannot be recovered).`);
  }
  const save = () => {
    let text = encode(next, dropped, samples);
    while (text.length > PREFERENCE_VALUE_BYTES && samples.length > 1) {
      samples.shift();
      dropped++;
      text = encode(next, dropped, samples);
    }
    storage.set(POST_QUEUE_KEY, text);
  };
  return {
    get length() { return samples.length; },
    get dropped() { return dropped; },
    first: () => samples[0],
    push(ts, readings) {
      const sample = { seq: next++, ts, readings };
      samples.push(sample);
      while (samples.length > limit) {
        samples.shift();
        dropped++;
      }
      save();
      return sample;
    },
    answered(reported) {
      samples.shift();
      dropped = Math.max(0, dropped - reported);
      save();
    },
  };
}

function encode(next: number, dropped: number, samples: Sample[]): string {
  return JSON.stringify({ n: next, d: dropped, s: samples.map((s) => [s.seq, s.ts, s.readings]) });
}

function parse(text: string): { next: number; dropped: number; samples: Sample[] } | undefined {
  try {
    const value = JSON.parse(text) as { n?: unknown; d?: unknown; s?: unknown };
    if (!Number.isInteger(value.n) || !Number.isInteger(value.d) || !Array.isArray(value.s)) return undefined;
    const samples: Sample[] = [];
    for (const entry of value.s as unknown[]) {
      if (!Array.isArray(entry) || !Number.isInteger(entry[0]) || typeof entry[1] !== "number" || typeof entry[2] !== "object" || entry[2] === null) return undefined;
      samples.push({ seq: entry[0], ts: entry[1], readings: entry[2] });
    }
    return { next: value.n as number, dropped: value.d as number, samples };
  } catch {
    return undefined;
  }
}

// The JSON the device publishes, and the commands it accepts. Topics hang off the thing name.

import { isObject, mustBe } from "../config/config.js";
import type { Sample } from "./queue.js";

export interface Topics {
  telemetry: string;
  status: string;
  command: string;
  commandAck: string;
}

export function topicsFor(prefix: string): Topics {
  return {
    telemetry: `${prefix}/telemetry`,
    status: `${prefix}/status`,
    command: `${prefix}/cmd`,
    commandAck: `${prefix}/cmd/ack`,
  };
}

const encoder = new TextEncoder();

/** `{thing, seq, ts, readings, dropped?}`; `dropped` only when samples were lost since the last message. */
export function telemetryPayload(thing: string, sample: Sample, dropped: number): Uint8Array {
  const body: Record<string, unknown> = { thing, seq: sample.seq, ts: sample.ts, readings: sample.readings };
  if (dropped > 0) body.dropped = dropped;
  return encoder.encode(JSON.stringify(body));
}

/** `{thing, state, ts?}`; the offline one is the last will, so it carries no time. */
export function statusPayload(thing: string, state: "online" | "offline", ts?: number): Uint8Array {
  return encoder.encode(JSON.stringify(ts === undefined ? { thing, state } : { thing, state, ts }));
}

export type Command = { id?: string; intervalMs: number };

/**
 * Parses `{"id": "...", "intervalMs": 2000}`. Returns a sentence naming what is wrong when the
 * payload is not such an object or the interval is outside [min, max].
 */
export function parseCommand(payload: Uint8Array, min: number, max: number): Command | { error: string; id?: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { error: "command is not JSON: send {\"intervalMs\": <ms>}" };
  }
  if (!isObject(value)) return { error: "command must be a JSON object" };
  const id = typeof value.id === "string" ? value.id.slice(0, 64) : undefined;
  const interval = value.intervalMs as number;
  // The config's own rule, so the sentence is the config field's: "an integer from <min> to <max>".
  const wrong = mustBe(interval, [min, max]);
  return wrong ? { error: `"intervalMs" must be ${wrong}`, id } : { id, intervalMs: interval };
}

/** `{thing, id, ok, intervalMs}` for an applied command, `{thing, id, ok: false, error}` for a refused one. */
export function commandAckPayload(thing: string, parsed: ReturnType<typeof parseCommand>): Uint8Array {
  return encoder.encode(JSON.stringify({ thing, id: parsed.id, ok: !("error" in parsed), ...parsed }));
}

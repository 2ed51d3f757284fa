// The JSON the device publishes, and the commands it accepts. Topics hang off the thing name.

import { CONFIG_FIELDS, isObject, mustBe } from "../config/config.js";
import type { Sample } from "./queue.js";

export interface Topics {
  telemetry: string;
  status: string;
  command: string;
  commandAck: string;
}

export function topicsFor(prefix: string): Topics {
  const command = prefix + "/cmd";
  return { telemetry: prefix + "/telemetry", status: prefix + "/status", command, commandAck: command + "/ack" };
}

// JSON.stringify leaves out the fields whose value is undefined.
const json = (body: object) => new TextEncoder().encode(JSON.stringify(body));

/** `{thing, seq, ts, readings, dropped?}`; `dropped` only when samples were lost since the last message. */
export function telemetryPayload(thing: string, sample: Sample, dropped: number): Uint8Array {
  return json({ thing, ...sample, dropped: dropped || undefined }); // a sample is {seq, ts, readings}
}

/** `{thing, state, ts?}`; the offline one is the last will, so it carries no time. */
export function statusPayload(thing: string, state: "online" | "offline", ts?: number): Uint8Array {
  return json({ thing, state, ts });
}

export type Command = { id?: string; intervalMs: number };

/**
 * Parses `{"id": "...", "intervalMs": 2000}`. Returns a sentence naming what is wrong when the
 * payload is not such an object or the interval breaks the config field's rule (the same bounds
 * and sentence as `telemetryIntervalMs` in the config: "an integer from <min> to <max>").
 */
export function parseCommand(payload: Uint8Array): Command | { error: string; id?: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    // not JSON: refused below
  }
  if (!isObject(value)) return { error: "command must be a JSON object: send {\"intervalMs\": <ms>}" };
  const id = typeof value.id === "string" ? value.id.slice(0, 64) : undefined;
  const interval = value.intervalMs as number;
  const wrong = mustBe(interval, CONFIG_FIELDS.telemetryIntervalMs[1]);
  return wrong ? { error: `"intervalMs" must be ${wrong}`, id } : { id, intervalMs: interval };
}

/** `{thing, id, ok, intervalMs}` for an applied command, `{thing, id, ok: false, error}` for a refused one. */
export function commandAckPayload(thing: string, parsed: ReturnType<typeof parseCommand>): Uint8Array {
  return json({ thing, id: parsed.id, ok: !("error" in parsed), ...parsed });
}

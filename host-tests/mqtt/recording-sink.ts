// A PacketSink that records what the parser reports, for assertions.
import type { Failure } from "../../firmware/platform/failure.js";
import type { PacketSink } from "../../firmware/mqtt/decode.js";

export type Event =
  | ["connack", boolean, number]
  | ["publish", string, string, number, number]
  | ["ack", number, number]
  | ["suback", number, number[]]
  | ["pingresp"]
  | ["error", string];

export class RecordingSink implements PacketSink {
  events: Event[] = [];
  errors: Failure[] = [];
  onConnack(sessionPresent: boolean, code: number) { this.events.push(["connack", sessionPresent, code]); }
  onPublish(topic: string, payload: Uint8Array, flags: number, id: number) {
    this.events.push(["publish", topic, Buffer.from(payload).toString("hex"), flags, id]);
  }
  onAck(type: number, id: number, body: Uint8Array) {
    this.events.push(type === 9 ? ["suback", id, [...body.subarray(2)]] : type === 13 ? ["pingresp"] : ["ack", type, id]);
  }
  onProtocolError(f: Failure) { this.errors.push(f); this.events.push(["error", f.code]); }
}

// MQTT codec exercises that run unchanged under Node and inside XS, so a test can compare the
// two engines result for result. Pure: ES2022 and TextEncoder only (it is bundled into XS).
import type { Failure } from "../../../firmware/platform/failure.js";
import { PacketDecoder, type PacketSink } from "../../../firmware/mqtt/decode.js";
import { encodeConnect, encodePuback, encodePublish, encodeSubscribe, encodeUnsubscribe, type ConnectFields } from "../../../firmware/mqtt/encode.js";

const encoder = new TextEncoder();

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

export function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** A short fingerprint of a payload (length and FNV-1a), cheap enough for 128 KB inside XS. */
export function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return `${bytes.length}:${h.toString(16)}`;
}

/** A payload of `length` bytes with a recognisable pattern. */
export function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

export type DecodedEvent = (string | number | boolean | number[])[];

class Recorder implements PacketSink {
  events: DecodedEvent[] = [];
  onConnack(sessionPresent: boolean, code: number) { this.events.push(["connack", sessionPresent, code]); }
  onPublish(topic: string, payload: Uint8Array, flags: number, id: number) { this.events.push(["publish", topic, fingerprint(payload), flags, id]); }
  onAck(type: number, id: number, body: Uint8Array) {
    this.events.push(type === 9 ? ["suback", id, Array.from(body.subarray(2))] : type === 13 ? ["pingresp"] : ["ack", type, id]);
  }
  onProtocolError(failure: Failure) { this.events.push(["error", failure.code]); }
}

/** Feeds `bytes` to a fresh decoder in chunks of `chunk` bytes (0: all at once); returns what it reported. */
export function decodeInChunks(bytes: Uint8Array, chunk: number): DecodedEvent[] {
  const recorder = new Recorder();
  const decoder = new PacketDecoder(recorder);
  const step = chunk || bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) decoder.push(bytes.subarray(i, i + step));
  return recorder.events;
}

export interface PublishCase { topic: string; payloadLength: number; qos: 0 | 1; retain: boolean; dup: boolean; id: number }

/** CONNECT fields as JSON can carry them (bytes as number arrays). */
export interface ConnectCase extends Omit<ConnectFields, "password" | "will"> {
  password?: number[];
  will?: { topic: string; payload: number[]; qos: 0 | 1; retain?: boolean };
}

/** Client packets encoded by the firmware. */
export function encodeClientPackets(connect: ConnectCase, publishes: PublishCase[]): Uint8Array[] {
  const fields: ConnectFields = {
    ...connect,
    password: connect.password && Uint8Array.from(connect.password),
    will: connect.will && { ...connect.will, payload: Uint8Array.from(connect.will.payload) },
  };
  const out = [encodeConnect(fields)];
  for (const p of publishes) out.push(encodePublish(encoder.encode(p.topic), pattern(p.payloadLength), p.qos, p.retain, p.dup, p.id));
  out.push(encodeSubscribe(7, [encoder.encode("a/+/c"), encoder.encode("d/#")], [1, 0]));
  out.push(encodeUnsubscribe(8, [encoder.encode("a/+/c")]));
  out.push(encodePuback(65535));
  return out;
}

/** What a server sends: every packet type a client must decode, joined in one byte string. */
export function serverStream(publishes: PublishCase[]): { bytes: Uint8Array; expected: DecodedEvent[] } {
  const packets: Uint8Array[] = [Uint8Array.of(0x20, 2, 1, 0)];
  const expected: DecodedEvent[] = [["connack", true, 0]];
  for (const p of publishes) {
    const payload = pattern(p.payloadLength);
    packets.push(encodePublish(encoder.encode(p.topic), payload, p.qos, p.retain, p.dup && p.qos === 1, p.id));
    const flags = (p.dup && p.qos === 1 ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
    expected.push(["publish", p.topic, fingerprint(payload), flags, p.qos ? p.id : 0]);
  }
  packets.push(Uint8Array.of(0x40, 2, 0x12, 0x34), Uint8Array.of(0x90, 5, 0, 7, 1, 0, 0x80), Uint8Array.of(0xb0, 2, 0, 8), Uint8Array.of(0xd0, 0));
  expected.push(["ack", 4, 0x1234], ["suback", 7, [1, 0, 0x80]], ["ack", 11, 8], ["pingresp"]);
  let size = 0;
  for (const p of packets) size += p.length;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of packets) { bytes.set(p, at); at += p.length; }
  return { bytes, expected };
}

/** Deterministic bytes for fuzzing (xorshift32), identical under both engines. */
export function soup(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

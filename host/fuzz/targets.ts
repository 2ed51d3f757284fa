// Seeded fuzzing of every parser that reads bytes from outside: the firmware's MQTT decoder,
// WebSocket frame decoder, HTTP response-head reader and credentials loader, and the stand-in's
// MQTT frame guard. Each case mutates a valid input and feeds it twice, whole and split at
// random points (Preference parts for credentials); a case fails when a parser throws, when the
// two feedings disagree, or when a bound is broken (a head over 4,096 bytes read, a packet over
// the decoder's maximum handed on). Same seed, same cases: a failure is reproduced by its seed.
import * as mqttPacket from "mqtt-packet";
import { crc32 } from "node:zlib";
import { createRootCa, issueCertificate } from "../../certs/pki.js";
import { encodeImage, preferenceEntries } from "../../certs/image.js";
import { loadCredentials } from "../../firmware/credentials/load.js";
import { PacketDecoder, type PacketSink } from "../../firmware/mqtt/decode.js";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Storage } from "../../firmware/platform/seam.js";
import { createFrameDecoder, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG } from "../../firmware/websocket/frames.js";
import { createHeadReader } from "../../firmware/websocket/http-head.js";
import { FrameGuard } from "../iotcore/dataplane/frame-guard.js";

/** A small, fast, seeded generator (mulberry32). */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.below(256);
    return out;
  }
}

/** A mutated copy of `input`: flipped bits, changed, inserted or removed bytes, cut or grown. */
export function mutate(input: Uint8Array, random: Random): Uint8Array {
  let bytes: Uint8Array = input.slice();
  const edits = 1 + random.below(4);
  for (let e = 0; e < edits; e++) {
    const at = random.below(Math.max(1, bytes.length));
    switch (random.below(6)) {
      case 0: if (bytes.length) bytes[at] ^= 1 << random.below(8); break;
      case 1: if (bytes.length) bytes[at] = random.pick([0x00, 0x7f, 0x80, 0xff, random.below(256)]); break;
      case 2: bytes = concat([bytes.subarray(0, at), random.bytes(1 + random.below(8)), bytes.subarray(at)]); break;
      case 3: bytes = concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + random.below(8)))]); break;
      case 4: bytes = bytes.subarray(0, at); break;
      default: bytes = concat([bytes, bytes.subarray(at)]); break;   // repeat a tail: more packets, or garbage
    }
  }
  return bytes;
}

/** `bytes` in 1-8 pieces cut at random points. */
export function split(bytes: Uint8Array, random: Random): Uint8Array[] {
  const cuts = [...new Set(Array.from({ length: random.below(8) }, () => random.below(bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

export interface Target {
  name: string;
  /** Valid inputs the mutations start from. */
  seeds: Uint8Array[];
  /** What the parser made of the bytes fed in these pieces, as comparable text; throws on a broken bound. */
  outcome(pieces: Uint8Array[], random: Random): string;
  /** Run after each mutation (e.g. to repair a checksum so the parser looks deeper). */
  repair?(bytes: Uint8Array, random: Random): Uint8Array;
}

// --- MQTT: the firmware's decoder of what a server sends -------------------------------------

const MQTT_MAX = 4096;

function mqttSeeds(): Uint8Array[] {
  const packets: mqttPacket.Packet[] = [
    { cmd: "connack", returnCode: 0, sessionPresent: true },
    { cmd: "publish", topic: "device/1/command", payload: Buffer.from("{\"interval\":5000}"), qos: 1, messageId: 7, retain: false, dup: false },
    { cmd: "publish", topic: "t", payload: Buffer.alloc(300, 0x61), qos: 0, retain: true, dup: false },
    { cmd: "puback", messageId: 65535 },
    { cmd: "suback", messageId: 3, granted: [0, 1, 0x80] },
    { cmd: "unsuback", messageId: 9, granted: [] },
    { cmd: "pingresp" },
  ];
  const one = packets.map((p) => new Uint8Array(mqttPacket.generate(p)));
  return [...one, concat(one)];
}

function mqttOutcome(pieces: Uint8Array[]): string {
  const events: string[] = [];
  const sink: PacketSink = {
    onConnack: (present, code) => void events.push(`connack ${present} ${code}`),
    onPublish: (topic, payload, flags, id) => {
      if (payload.length > MQTT_MAX) throw new Error(`a ${payload.length}-byte payload passed the ${MQTT_MAX}-byte packet bound`);
      events.push(`publish ${JSON.stringify(topic)} ${hex(payload)} ${flags} ${id}`);
    },
    onAck: (type, id, body) => void events.push(type === 9 ? `suback ${id} ${hex(body.subarray(2))}` : type === 13 ? "pingresp" : `ack ${type} ${id}`),
    onProtocolError: (f: Failure) => void events.push(`error ${f.code}`),
  };
  const decoder = new PacketDecoder(sink, MQTT_MAX);
  for (const piece of pieces) decoder.push(piece);
  return events.join("\n");
}

// --- WebSocket frames from the server --------------------------------------------------------

function frame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const length = payload.length;
  const head = length < 126 ? [opcode | (fin ? 0x80 : 0), length]
    : [opcode | (fin ? 0x80 : 0), 126, length >> 8, length & 0xff];
  return concat([new Uint8Array(head), payload]);
}

function websocketSeeds(): Uint8Array[] {
  const mqtt = new Uint8Array(mqttPacket.generate({ cmd: "puback", messageId: 1 }));
  return [
    frame(OP_BINARY, mqtt),
    concat([frame(OP_BINARY, new Uint8Array(200).fill(1), false), frame(OP_PING, new Uint8Array([1, 2])), frame(OP_CONTINUATION, new Uint8Array(5))]),
    concat([frame(OP_PONG, new Uint8Array(0)), frame(OP_CLOSE, new Uint8Array([0x03, 0xe8]))]),
  ];
}

function websocketOutcome(pieces: Uint8Array[]): string {
  const events: string[] = [];
  let data = "";
  const flush = () => {
    if (data) events.push(`data ${data}`);
    data = "";
  };
  const decode = createFrameDecoder({
    onPayload: (bytes) => { data += hex(bytes); },
    onControl: (opcode, payload) => {
      if (payload.length > 125) throw new Error(`a ${payload.length}-byte control frame passed the 125-byte bound`);
      flush();
      events.push(`control ${opcode} ${hex(payload)}`);
    },
  }, () => false);
  for (const piece of pieces) {
    const violation = decode(piece);
    if (violation) {
      flush();
      events.push(`violation ${violation.closeCode} ${violation.reason}`);
      break;
    }
  }
  flush();
  return events.join("\n");
}

// --- HTTP response heads -----------------------------------------------------------------------

const HEAD_MAX = 4096;

function headSeeds(): Uint8Array[] {
  const text = (s: string) => new TextEncoder().encode(s);
  return [
    text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x82\x02\x20\x02"),
    text(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: ${"p".repeat(4040)}\r\n\r\n{}`),
    text("HTTP/1.0 403 Forbidden\r\n\r\n"),
  ];
}

function headOutcome(pieces: Uint8Array[]): string {
  const read = createHeadReader(HEAD_MAX);
  for (let i = 0; i < pieces.length; i++) {
    const result = read(pieces[i]!);
    if (!result) continue;
    if ("code" in result) return `failure ${result.code}`;
    const headBytes = pieces.slice(0, i + 1).reduce((n, p) => n + p.length, 0) - result.rest.length;
    if (headBytes > HEAD_MAX) throw new Error(`a ${headBytes}-byte head passed the ${HEAD_MAX}-byte bound`);
    const rest = concat([result.rest, ...pieces.slice(i + 1)]);
    return `head ${result.head.status} ${JSON.stringify(result.head.headers)} rest ${hex(rest)}`;
  }
  return "incomplete";
}

// --- Credentials: the container whole (a partition) and in Preference parts ---------------------

class MapStorage implements Storage {
  readonly values = new Map<string, string | Uint8Array>();
  get(key: string) { return this.values.get(key); }
  set(key: string, value: string | Uint8Array) { this.values.set(key, value); }
  remove(key: string) { this.values.delete(key); }
}

async function credentialSeeds(): Promise<Uint8Array[]> {
  const ca = await createRootCa({ subject: { commonName: "Fuzz Device Root CA" } });
  const device = await issueCertificate({ issuer: ca, kind: "client", subject: { commonName: "fuzz-thing" } });
  return [encodeImage({ key: device.key.privateKeyDer, chain: [device.certDer, ca.certDer], trustedCa: [ca.certDer], settings: { thingName: "fuzz-thing" } })];
}

/** Half the time, a checksum that matches the mutated bytes: the entries themselves get parsed. */
function repairChecksum(bytes: Uint8Array, random: Random): Uint8Array {
  if (bytes.length < 16 || random.below(2) === 0) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = Math.min(bytes.length, 16 + view.getUint32(8, true));
  view.setUint32(12, crc32(concat([bytes.subarray(0, 12), bytes.subarray(16, end)])), true);
  return bytes;
}

const CLOCK = { now: () => Date.now(), isSet: () => true };

function credentialOutcome(pieces: Uint8Array[]): string {
  const storage = new MapStorage();
  storage.set("creds.n", String(pieces.length));
  pieces.forEach((piece, i) => storage.set(`creds.${i}`, piece.slice()));
  const result = loadCredentials({ clock: CLOCK, log: () => undefined, storage }, {}, { order: ["preference"] });
  if (!result.ok) return `failure ${result.failure.code}`;
  const { certificateChain, trustedCa, settings } = result.value;
  return `ok chain ${certificateChain.map(hex).join(",")} trusted ${trustedCa.map(hex).join(",")} settings ${JSON.stringify(settings)} key ${result.value.clientKey.length}`;
}

// --- The stand-in's frame guard (fixed headers, before any buffering) ---------------------------

function guardOutcome(pieces: Uint8Array[]): string {
  const guard = new FrameGuard({ connectBytes: 300, packetBytes: 200, preAuthBytes: 1000 });
  for (const piece of pieces) {
    const refusal = guard.feed(piece);
    if (refusal) return `refused ${refusal}`;
  }
  return "accepted";
}

function guardSeeds(): Uint8Array[] {
  const connect = new Uint8Array(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "fuzz", keepalive: 60 }));
  const publish = new Uint8Array(mqttPacket.generate({ cmd: "publish", topic: "a/b", payload: Buffer.alloc(150), qos: 1, messageId: 1, retain: false, dup: false }));
  return [concat([connect, publish, publish]), connect];
}

/** Every target; credentials need keys made first, so this is async. */
export async function fuzzTargets(): Promise<Target[]> {
  return [
    { name: "mqtt-decoder", seeds: mqttSeeds(), outcome: mqttOutcome },
    { name: "websocket-frames", seeds: websocketSeeds(), outcome: websocketOutcome },
    { name: "http-head", seeds: headSeeds(), outcome: headOutcome },
    { name: "credentials", seeds: await credentialSeeds(), outcome: credentialOutcome, repair: repairChecksum },
    { name: "stand-in-frame-guard", seeds: guardSeeds(), outcome: guardOutcome },
  ];
}

export interface FuzzFailure { target: string; seed: number; input: string; problem: string }
export interface FuzzReport { target: string; cases: number; distinctOutcomes: number; failures: FuzzFailure[] }

/**
 * Runs `count` cases of `target` from `seed`: each a mutated seed input fed whole and split.
 * Never throws: a thrown parser error or a disagreement is a failure in the report (at most 10 kept).
 */
export function fuzz(target: Target, count: number, seed: number): FuzzReport {
  const failures: FuzzFailure[] = [];
  const outcomes = new Set<string>();
  for (let n = 0; n < count; n++) {
    const caseSeed = (seed + n * 0x9e3779b1) >>> 0;
    const random = new Random(caseSeed);
    const mutated = mutate(random.pick(target.seeds), random);
    const input = target.repair ? target.repair(mutated, random) : mutated;
    const fail = (problem: string) => {
      if (failures.length < 10) failures.push({ target: target.name, seed: caseSeed, input: hex(input).slice(0, 400), problem });
    };
    try {
      const whole = target.outcome([input], random);
      const pieces = target.name === "credentials" ? partsOf(input, random) : split(input, random);
      const pieced = target.outcome(pieces, random);
      outcomes.add(whole.slice(0, 60));
      if (whole !== pieced) fail(`whole and split feeding disagree:\n  whole: ${whole.slice(0, 300)}\n  split: ${pieced.slice(0, 300)}`);
    } catch (error) {
      fail(`threw ${(error as Error).stack ?? error}`);
    }
  }
  return { target: target.name, cases: count, distinctOutcomes: outcomes.size, failures };
}

/** Preference parts as the certs CLI writes them, or cut at random sizes (at most 4,000 bytes each). */
function partsOf(input: Uint8Array, random: Random): Uint8Array[] {
  if (input.length > 0 && random.below(2) === 0) return preferenceEntries(input).slice(1).map((e) => e.value as Uint8Array);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < input.length || parts.length === 0;) {
    const size = 1 + random.below(4000);
    parts.push(input.subarray(at, at + size));
    at += size;
  }
  return parts;
}

// The MQTT codec checked against mqtt-packet (the parser/generator mqtt.js uses) as an
// independent oracle: what we encode it parses back, what it generates we decode.
import assert from "node:assert/strict";
import * as mqttPacket from "mqtt-packet";
import { DISCONNECT, PINGREQ, encodeConnect, encodePuback, encodePublish, encodeSubscribe, encodeUnsubscribe, publishHead, publishHeader, setDup } from "../../firmware/mqtt/encode.js";
import { PacketDecoder } from "../../firmware/mqtt/decode.js";
import { RecordingSink } from "./recording-sink.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

function parseWithOracle(bytes: Uint8Array): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on("packet", (p) => packets.push(p));
  parser.on("error", (e) => errors.push(e));
  parser.parse(Buffer.from(bytes));
  assert.deepEqual(errors, []);
  return packets;
}

function decodeAll(bytes: Uint8Array, chunkSizes?: number[]): RecordingSink {
  const sink = new RecordingSink();
  const decoder = new PacketDecoder(sink);
  if (!chunkSizes) {
    decoder.push(bytes);
  } else {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const size = chunkSizes[i % chunkSizes.length];
      decoder.push(bytes.subarray(at, at + size));
      at += size;
    }
  }
  return sink;
}

const serverPackets: mqttPacket.Packet[] = [
  { cmd: "connack", returnCode: 0, sessionPresent: true },
  { cmd: "publish", topic: "device-001/telemetry", payload: Buffer.from("hello"), qos: 0, retain: false, dup: false },
  { cmd: "publish", topic: "dev/ü/€", payload: Buffer.alloc(300, 7), qos: 1, retain: true, dup: true, messageId: 513 },
  { cmd: "publish", topic: "t", payload: Buffer.alloc(0), qos: 1, retain: false, dup: false, messageId: 65535 },
  { cmd: "puback", messageId: 42 },
  { cmd: "suback", messageId: 7, granted: [0, 1, 0x80] },
  { cmd: "unsuback", messageId: 9 } as mqttPacket.Packet,
  { cmd: "pingresp" },
];
const serverStream = Buffer.concat(serverPackets.map((p) => mqttPacket.generate(p)));

describe("MQTT encoder", () => {
  it("encodes a CONNECT with will, username and password that mqtt-packet parses back field by field", () => {
    const bytes = encodeConnect({
      clientId: "device-001", cleanSession: false, keepAliveSeconds: 1200, username: "user?x=1",
      password: Uint8Array.of(0, 1, 2, 255), will: { topic: "device-001/status", payload: utf8("gone"), qos: 1, retain: true },
    });
    const [p] = parseWithOracle(bytes) as mqttPacket.IConnectPacket[];
    assert.equal(p.cmd, "connect");
    assert.equal(p.protocolId, "MQTT");
    assert.equal(p.protocolVersion, 4);
    assert.equal(p.clientId, "device-001");
    assert.equal(p.clean, false);
    assert.equal(p.keepalive, 1200);
    assert.equal(p.username, "user?x=1");
    assert.deepEqual([...p.password!], [0, 1, 2, 255]);
    assert.equal(p.will!.topic, "device-001/status");
    assert.equal(Buffer.from(p.will!.payload as Buffer).toString(), "gone");
    assert.equal(p.will!.qos, 1);
    assert.equal(p.will!.retain, true);
  });

  it("encodes a minimal clean-session CONNECT byte for byte as the 3.1.1 spec lays it out", () => {
    const bytes = encodeConnect({ clientId: "a", cleanSession: true, keepAliveSeconds: 60 });
    assert.deepEqual([...bytes], [0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 1, 0x61]);
  });

  it("encodes PUBLISH QoS 0 and QoS 1 (with retain, DUP and packet id) that mqtt-packet parses back", () => {
    const q0 = parseWithOracle(encodePublish(utf8("a/b"), utf8("x"), 0, false, false, 0))[0] as mqttPacket.IPublishPacket;
    assert.deepEqual([q0.topic, q0.qos, q0.retain, q0.dup, Buffer.from(q0.payload as Buffer).toString()], ["a/b", 0, false, false, "x"]);
    const q1bytes = encodePublish(utf8("dev/ü"), new Uint8Array(200_000).fill(3), 1, true, false, 65535);
    setDup(q1bytes, true);
    const q1 = parseWithOracle(q1bytes)[0] as mqttPacket.IPublishPacket;
    assert.deepEqual([q1.topic, q1.qos, q1.retain, q1.dup, q1.messageId, (q1.payload as Buffer).length], ["dev/ü", 1, true, true, 65535, 200_000]);
    assert.ok((q1.payload as Buffer).every((b) => b === 3));
    setDup(q1bytes, false);
    assert.equal((parseWithOracle(q1bytes)[0] as mqttPacket.IPublishPacket).dup, false);
  });

  it("fills one reused PUBLISH head per message (flags, packet id, 1- to 3-byte length) that mqtt-packet parses with its payload", () => {
    const head = publishHead(utf8("dev/t"));
    const cases = [[100, 1, true, true, 7], [200, 0, false, false, 0], [20_000, 1, false, false, 65535], [200_000, 0, true, false, 0], [0, 1, false, true, 1]] as const;
    for (const [size, qos, retain, dup, id] of cases) {
      const payload = new Uint8Array(size).fill(size & 0xff);
      const p = parseWithOracle(Buffer.concat([publishHeader(head, size, qos, retain, dup, id), payload]))[0] as mqttPacket.IPublishPacket;
      assert.deepEqual([p.topic, p.qos, p.retain, p.dup, p.messageId, Buffer.compare(p.payload as Buffer, payload)],
        ["dev/t", qos, retain, dup, qos ? id : undefined, 0], `payload of ${size} bytes, QoS ${qos}`);
    }
  });

  it("encodes the remaining length as a varint at each size boundary", () => {
    for (const size of [0, 122, 123, 16379, 16380, 2097147, 2097148]) {
      const bytes = encodePublish(utf8("t"), new Uint8Array(size), 0, false, false, 0);
      const parsed = parseWithOracle(bytes)[0] as mqttPacket.IPublishPacket;
      assert.equal((parsed.payload as Buffer).length, size, `payload of ${size} bytes`);
    }
  });

  it("encodes PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT that mqtt-packet parses back", () => {
    const bytes = Buffer.concat([
      encodePuback(258),
      encodeSubscribe(3, [utf8("a/+/c"), utf8("d/#")], [1, 0]),
      encodeUnsubscribe(4, [utf8("a/+/c"), utf8("x")]),
      PINGREQ,
      DISCONNECT,
    ]);
    const [puback, sub, unsub, ping, disc] = parseWithOracle(bytes) as [mqttPacket.IPubackPacket, mqttPacket.ISubscribePacket, mqttPacket.IUnsubscribePacket, mqttPacket.IPingreqPacket, mqttPacket.IDisconnectPacket];
    assert.deepEqual([puback.cmd, puback.messageId], ["puback", 258]);
    assert.equal(sub.cmd, "subscribe");
    assert.equal(sub.messageId, 3);
    assert.deepEqual(sub.subscriptions.map((s) => [s.topic, s.qos]), [["a/+/c", 1], ["d/#", 0]]);
    assert.deepEqual([unsub.cmd, unsub.messageId, unsub.unsubscriptions], ["unsubscribe", 4, ["a/+/c", "x"]]);
    assert.equal(ping.cmd, "pingreq");
    assert.equal(disc.cmd, "disconnect");
  });
});

describe("MQTT stream decoder", () => {
  const expected = [
    ["connack", true, 0],
    ["publish", "device-001/telemetry", Buffer.from("hello").toString("hex"), 0, 0],
    ["publish", "dev/ü/€", Buffer.alloc(300, 7).toString("hex"), 0x0b, 513],
    ["publish", "t", "", 0x02, 65535],
    ["ack", 4, 42],
    ["suback", 7, [0, 1, 0x80]],
    ["ack", 11, 9],
    ["pingresp"],
  ];

  it("decodes every server-to-client packet type generated by mqtt-packet from one joined chunk", () => {
    assert.deepEqual(decodeAll(serverStream).events, expected);
  });

  it("decodes the same packets fed one byte at a time", () => {
    assert.deepEqual(decodeAll(serverStream, [1]).events, expected);
  });

  it("decodes the same packets split at every odd chunk size", () => {
    for (const sizes of [[2], [3], [7, 1, 5], [64], [299, 1]]) {
      assert.deepEqual(decodeAll(serverStream, sizes).events, expected, `chunks ${sizes}`);
    }
  });

  it("reports every CONNACK return code with the session-present flag", () => {
    for (let code = 0; code <= 5; code++) {
      for (const sessionPresent of [false, true]) {
        const bytes = mqttPacket.generate({ cmd: "connack", returnCode: code, sessionPresent });
        assert.deepEqual(decodeAll(bytes).events, [["connack", sessionPresent, code]]);
      }
    }
  });

  it("hands a payload that arrived whole as a view of the chunk, and one split across chunks as its own copy", () => {
    const bytes = mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.from("abc"), qos: 0, retain: false, dup: false });
    let seen: Uint8Array | undefined;
    const sink = new RecordingSink();
    sink.onPublish = (_t, payload) => { seen = payload; };
    new PacketDecoder(sink).push(bytes);
    assert.equal(seen!.buffer, bytes.buffer);
    const split = new PacketDecoder(sink);
    split.push(bytes.subarray(0, 4));
    split.push(bytes.subarray(4));
    assert.notEqual(seen!.buffer, bytes.buffer);
    assert.equal(Buffer.from(seen!).toString(), "abc");
  });
});

describe("MQTT stream decoder on malformed input", () => {
  const corpus: [string, number[]][] = [
    ["a CONNECT sent by the server", [0x10, 0]],
    ["a reserved packet type 0", [0x00, 0]],
    ["a reserved packet type 15", [0xf0, 0]],
    ["a PUBREC (QoS 2 is not used)", [0x50, 2, 0, 1]],
    ["a CONNACK with flags", [0x21, 2, 0, 0]],
    ["a CONNACK of the wrong length", [0x20, 3, 0, 0, 0]],
    ["a CONNACK with reserved acknowledge bits", [0x20, 2, 2, 0]],
    ["a CONNACK with an unknown return code", [0x20, 2, 0, 6]],
    ["a PUBLISH with QoS 3", [0x36, 5, 0, 1, 0x61, 0, 1]],
    ["a PUBLISH with QoS 2", [0x34, 5, 0, 1, 0x61, 0, 1]],
    ["a QoS 0 PUBLISH with DUP", [0x38, 3, 0, 1, 0x61]],
    ["a PUBLISH whose topic runs past the packet", [0x30, 3, 0, 9, 0x61]],
    ["a PUBLISH with an empty topic", [0x30, 3, 0, 0, 0x61]],
    ["a PUBLISH too short for its topic length", [0x30, 1, 0]],
    ["a QoS 1 PUBLISH with packet id 0", [0x32, 5, 0, 1, 0x61, 0, 0]],
    ["a QoS 1 PUBLISH missing its packet id", [0x32, 4, 0, 1, 0x61, 0]],
    ["a PUBACK with flags", [0x42, 2, 0, 1]],
    ["a PUBACK of the wrong length", [0x40, 3, 0, 1, 0]],
    ["a PUBACK with packet id 0", [0x40, 2, 0, 0]],
    ["a SUBACK with no return codes", [0x90, 2, 0, 1]],
    ["a SUBACK with return code 3", [0x90, 3, 0, 1, 3]],
    ["a SUBACK with flags", [0x92, 3, 0, 1, 0]],
    ["an UNSUBACK of the wrong length", [0xb0, 1, 0]],
    ["a PINGRESP with a body", [0xd0, 1, 0]],
    ["a remaining length of five bytes", [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  ];

  for (const [name, bytes] of corpus) {
    it(`turns ${name} into one mqtt-protocol-error and ignores what follows, whole or byte by byte`, () => {
      const stream = Uint8Array.from([...bytes, 0xd0, 0]);
      for (const sizes of [undefined, [1]]) {
        const sink = decodeAll(stream, sizes);
        assert.deepEqual(sink.events, [["error", "mqtt-protocol-error"]]);
        assert.match(sink.errors[0].message, /malformed/);
      }
    });
  }

  it("refuses a packet longer than the maximum as soon as its length is read, without buffering it", () => {
    const sink = new RecordingSink();
    const decoder = new PacketDecoder(sink, 1000);
    decoder.push(Uint8Array.of(0x30, 0xe9, 0x07)); // remaining length 1001
    assert.deepEqual(sink.events, [["error", "mqtt-protocol-error"]]);
    assert.match(sink.errors[0].message, /1001 bytes \(limit 1000\)/);
  });

  it("accepts a packet exactly at the maximum size", () => {
    const sink = new RecordingSink();
    const bytes = encodePublish(utf8("t"), new Uint8Array(995), 0, false, false, 0);
    bytes[0] = 0x30;
    new PacketDecoder(sink, 998).push(bytes);
    assert.equal(sink.events.length, 1);
    assert.equal(sink.events[0][0], "publish");
  });

  it("survives a random byte soup without throwing", () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
    for (let round = 0; round < 200; round++) {
      const bytes = Uint8Array.from({ length: 64 }, next);
      const sink = new RecordingSink();
      assert.doesNotThrow(() => new PacketDecoder(sink, 4096).push(bytes));
      assert.ok(sink.errors.length <= 1);
    }
  });
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForXs } from "../../host/runtime/xs/bundle.js";
import { createHostPlatform } from "../../host/runtime/xs/host-platform.js";
import { XsRuntime } from "../../host/runtime/xs/runtime.js";
import { type ConnectCase, type PublishCase, decodeInChunks, encodeClientPackets, hex, serverStream, soup } from "./guests/codec-cases.js";

const guest = new URL("./guests/codec.guest.ts", import.meta.url);

const connect: ConnectCase = {
  clientId: "device-001",
  cleanSession: false,
  keepAliveSeconds: 1200,
  username: "user?x-amz-customauthorizer-name=auth&token=ü",
  password: [0, 1, 2, 255],
  will: { topic: "device-001/status", payload: [111, 102, 102], qos: 1, retain: true },
};

// Topic and payload sizes around the remaining-length varint boundaries, UTF-8 topics, all flags.
const publishes: PublishCase[] = [
  { topic: "device-001/telemetry", payloadLength: 100, qos: 0, retain: false, dup: false, id: 0 },
  { topic: "device-001/telemetry", payloadLength: 100, qos: 1, retain: true, dup: true, id: 65535 },
  { topic: "ü/温度/x", payloadLength: 0, qos: 1, retain: false, dup: false, id: 1 },
  { topic: "t", payloadLength: 124, qos: 0, retain: false, dup: false, id: 0 },
  { topic: "t", payloadLength: 125, qos: 0, retain: false, dup: false, id: 0 },
  { topic: "t", payloadLength: 16380, qos: 1, retain: false, dup: false, id: 300 },
  { topic: "t", payloadLength: 16381, qos: 1, retain: false, dup: false, id: 301 },
  { topic: "a/b/c/d/e/f/g/h", payloadLength: 128 * 1024, qos: 1, retain: false, dup: false, id: 2 },
];

// Malformed server input: each must end in exactly one mqtt-protocol-error, whole or byte by byte.
const malformed: Record<string, string> = {
  "a CONNECT from the server": "100c00044d5154540402003c0000",
  "reserved type 0": "0000",
  "reserved type 15": "f000",
  "a QoS 2 PUBREC": "50020001",
  "a CONNACK of the wrong length": "2003000000",
  "a CONNACK with an unknown return code": "20020006",
  "a PUBLISH with QoS 3": "360500017400",
  "a QoS 0 PUBLISH with DUP": "3803000174",
  "a PUBLISH with an empty topic": "30020000",
  "a PUBLISH whose topic runs past the packet": "3003000574",
  "a QoS 1 PUBLISH with packet id 0": "32050001740000",
  "a PUBACK with packet id 0": "40020000",
  "a SUBACK with return code 3": "9003000103",
  "a PINGRESP with a body": "d00100",
  "a five-byte remaining length": "30ffffffff01",
  "a length over the maximum": "30ffff7f",
};

describe("MQTT codec inside the real XS engine", () => {
  let runtime: XsRuntime;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "xs-codec-"));
    runtime = await XsRuntime.start({ script: await bundleForXs(guest), platform: createHostPlatform({ storageDir: dir, log: () => {} }) });
  });

  after(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("encodes every client packet to the same bytes as under Node", async () => {
    const { parts } = await runtime.call("encode", { connect, publishes });
    const expected = encodeClientPackets(connect, publishes);
    assert.equal(parts.length, expected.length);
    parts.forEach((packet, i) => assert.ok(Buffer.from(packet).equals(expected[i]), `packet ${i} differs between XS and Node`));
    // The CONNECT carries its flags: username, password, will retain + QoS 1 + flag, persistent session.
    assert.equal(parts[0][9], 0x80 | 0x40 | 0x20 | 0x08 | 0x04);
  });

  it("decodes every server packet, joined, byte by byte and in odd chunks, to what was encoded", async () => {
    const chunks = [0, 1, 7, 1000];
    const { result } = await runtime.call("decode", { publishes, chunks });
    const { expected } = serverStream(publishes);
    for (const [i, events] of (result as unknown[]).entries()) {
      assert.deepEqual(events, expected, `fed in chunks of ${chunks[i] || "everything"}`);
    }
  });

  for (const [name, input] of Object.entries(malformed)) {
    it(`turns ${name} into one mqtt-protocol-error, whole or byte by byte`, async () => {
      const valid = hex(Uint8Array.of(0xd0, 0)); // a PINGRESP after the bad packet must be ignored
      const { result } = await runtime.call("decodeHex", { inputs: [input + valid] });
      const [[whole, byByte]] = result as unknown[][];
      assert.deepEqual(whole, [["error", "mqtt-protocol-error"]]);
      assert.deepEqual(byByte, [["error", "mqtt-protocol-error"]]);
    });
  }

  it("survives random byte soup without an exception, reporting what Node reports", async () => {
    const seeds = Array.from({ length: 40 }, (_, i) => i * 7919 + 1);
    const { result } = await runtime.call("soup", { seeds });
    assert.deepEqual(result, seeds.map((seed) => decodeInChunks(soup(seed, 600), 37)));
    assert.ok((result as unknown[][]).some((events) => events.length > 0));
  });
});

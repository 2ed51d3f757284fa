// Codec throughput: encode an outbound QoS 1 PUBLISH and decode an inbound PUBLISH (100-byte
// payload, topic `device-001/telemetry`), ours beside mqtt-packet, the codec inside mqtt.js.

import * as mqttPacket from "mqtt-packet";
import { PacketDecoder, type PacketSink } from "../../../firmware/mqtt/decode.js";
import { encodePublish } from "../../../firmware/mqtt/encode.js";
import { opsPerSecond, type BenchSection } from "../section.js";

const TOPIC = "device-001/telemetry";
const PAYLOAD = new Uint8Array(100).fill(0x61);

/** n encode + decode pairs through our codec; returns the payload bytes delivered so far. */
function ours(): (n: number) => number {
  const topic = new TextEncoder().encode(TOPIC); // the client validates and caches a topic's bytes once
  const inbound = encodePublish(topic, PAYLOAD, 0, false, false, 0);
  let received = 0;
  const sink: PacketSink = {
    onConnack() {}, onAck() {},
    onPublish(_topic, payload) { received += payload.length; },
    onProtocolError(f) { throw new Error(f.message); },
  };
  const decoder = new PacketDecoder(sink);
  return (n) => {
    for (let i = 0; i < n; i++) {
      encodePublish(topic, PAYLOAD, 1, false, false, (i & 0xfffe) + 1);
      decoder.push(inbound);
    }
    return received;
  };
}

/** The same work through mqtt-packet. */
function mqttJs(): (n: number) => number {
  const payload = Buffer.from(PAYLOAD);
  const inbound = mqttPacket.generate({ cmd: "publish", topic: TOPIC, payload, qos: 0, retain: false, dup: false });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let received = 0;
  parser.on("packet", (p) => { received += (p as mqttPacket.IPublishPacket).payload.length; });
  parser.on("error", (e) => { throw e; });
  return (n) => {
    for (let i = 0; i < n; i++) {
      mqttPacket.generate({ cmd: "publish", topic: TOPIC, payload, qos: 1, messageId: (i & 0xfffe) + 1, retain: false, dup: false });
      parser.parse(inbound);
    }
    return received;
  };
}

export const codecSection: BenchSection = {
  name: "MQTT codec (host, Node)",
  async run() {
    // Interleaved, best of three each, to even out a noisy machine.
    let a = 0;
    let b = 0;
    for (let round = 0; round < 3; round++) {
      a = Math.max(a, opsPerSecond(ours(), 400));
      b = Math.max(b, opsPerSecond(mqttJs(), 400));
    }
    return [{ name: "PUBLISH encode + decode", unit: "pairs/s", ours: a, peer: { name: "mqtt-packet (mqtt.js)", value: b }, higherIsBetter: true }];
  },
};

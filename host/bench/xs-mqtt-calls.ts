// Guest side of the XS MQTT benchmark, shared by both clients it measures (ours in
// xs-mqtt.guest.ts, Moddable's classic `mqtt` in xs-moddable.guest.ts): the same operations,
// topic, payload and inbound packets, measured the same way. A guest only says how its client
// does each operation. Runs inside XS.

import { encodePublish } from "../../firmware/mqtt/encode.js";
import { exposeCalls } from "../runtime/xs/guest/bridge.js";
import { collect, computrons, steadyComputrons } from "./xs-meter.js";

export const TOPIC = "device-001/telemetry";
/** 100 bytes of 'a'. */
export const PAYLOAD = new Uint8Array(100).fill(0x61);

/** One MQTT client implementation, driven over stubbed sockets and timers. */
export interface MqttUnderTest {
  /** A new client taken through CONNECT and CONNACK; the operations below act on the latest one. Called without `this`. */
  connect(): object;
  /** Publishes PAYLOAD at QoS 0 on TOPIC. */
  publish0(): void;
  /** Publishes PAYLOAD at QoS 1 on TOPIC and hands the client its PUBACK. */
  publish1(): void;
  /** An operation that hands the latest client `packet` as received bytes (converted once, outside the measurement). */
  receiver(packet: Uint8Array): () => void;
  /** Facts reported beside the figures (bytes written, messages in flight). */
  facts(): Record<string, unknown>;
}

const encoder = new TextEncoder();

function inbound(topic: string, qos: 0 | 1): Uint8Array {
  return encodePublish(encoder.encode(topic), PAYLOAD, qos, false, false, 77);
}

/**
 * Exposes `computrons` (every operation's cost) and `heapBaseline`/`heapConnected` (one
 * connected client alive, then two: the difference is one client, whatever XS keeps of the
 * last instance made, as it can hold on to a released one until the next is made).
 */
export function exposeMqttBench(client: MqttUnderTest): void {
  // Called as a plain function, so the connect figure holds no method lookup on the driver.
  const { connect: connectClient } = client;
  let kept: object[] = [];
  exposeCalls({
    computrons() {
      connectClient(); // warm-up
      const connect = computrons(() => void connectClient());
      const publish0 = steadyComputrons(client.publish0);
      const publish1 = steadyComputrons(client.publish1);
      const inbound0 = steadyComputrons(client.receiver(inbound(TOPIC, 0)));
      const inbound0LongTopic = steadyComputrons(client.receiver(inbound(`${TOPIC}/${"x".repeat(100)}`, 0)));
      const inbound1 = steadyComputrons(client.receiver(inbound(TOPIC, 1)));
      return { result: { connect, publish0, publish1, inbound0, inbound0LongTopic, inbound1, ...client.facts() } };
    },
    heapBaseline() {
      kept = [connectClient()]; // also takes the first-use allocations, which are not the client's
      collect();
    },
    heapConnected() {
      kept.push(connectClient());
      collect();
    },
  });
}

// Benchmark guest: our MQTT client inside XS with the socket and timers stubbed in the guest,
// so the figures are the client's own work (plus the stubs'), as in TARGETS.md's reference.

import { MqttClient } from "../../firmware/mqtt/client.js";
import { encodePuback, encodePublish } from "../../firmware/mqtt/encode.js";
import type { Transport, TransportEvents } from "../../firmware/platform/seam.js";
import { exposeCalls } from "../runtime/xs/guest/bridge.js";
import { collect, computrons, steadyComputrons } from "./xs-meter.js";

const TOPIC = "device-001/telemetry";
const encoder = new TextEncoder();
const payload = new Uint8Array(100).fill(0x61);
const CONNACK = Uint8Array.of(0x20, 2, 0, 0);

let written = 0;
let stream: TransportEvents | undefined;
const transport: Transport = { write: (bytes, more) => void (written += bytes.length + (more ? more.length : 0)), close: () => {} };
const open = (events: TransportEvents) => ((stream = events), transport);
const platform = {
  clock: { now: () => 0, isSet: () => true },
  timers: { setTimeout: () => 1, clearTimeout: () => {} },
  log: () => {},
};
const events = { onConnected: () => {}, onMessage: () => {}, onDisconnected: () => {} };
const options = { clientId: "device-001", cleanSession: true, keepAliveSeconds: 1200 };

let client: MqttClient | undefined;
let kept: MqttClient[] = [];

function connectClient(): MqttClient {
  const made = new MqttClient(platform, options, events);
  made.connect(open);
  stream!.onOpen({});
  stream!.onData(CONNACK);
  return made;
}

function inbound(topic: string, qos: 0 | 1): Uint8Array {
  return encodePublish(encoder.encode(topic), payload, qos, false, false, 77);
}

exposeCalls({
  computrons() {
    connectClient(); // warm-up
    const connect = computrons(() => void (client = connectClient()));
    const c = client!;
    const publish0 = steadyComputrons(() => void c.publish(TOPIC, payload, 0));
    let id = 0;
    const puback = (n: number) => encodePuback(n);
    const acks = Array.from({ length: 4 }, (_, i) => puback(i + 1));
    const publish1 = steadyComputrons(() => {
      c.publish(TOPIC, payload, 1);
      stream!.onData(acks[id++]);
    });
    const short0 = inbound(TOPIC, 0);
    const long0 = inbound(`${TOPIC}/${"x".repeat(100)}`, 0);
    const in1 = inbound(TOPIC, 1);
    return {
      result: {
        connect,
        publish0,
        publish1,
        inbound0: steadyComputrons(() => stream!.onData(short0)),
        inbound0LongTopic: steadyComputrons(() => stream!.onData(long0)),
        inbound1: steadyComputrons(() => stream!.onData(in1)),
        inFlight: c.inFlight,
        written,
      },
    };
  },
  // One connected client alive, then two: the difference is one client, whatever XS keeps
  // of the last instance made (it can hold on to a released one until the next is made).
  heapBaseline() {
    kept = [connectClient()]; // also takes the first-use allocations, which are not the client's
    collect();
  },
  heapConnected() {
    kept.push(connectClient());
    collect();
  },
});

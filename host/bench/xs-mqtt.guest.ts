// Benchmark guest: our MQTT client inside XS with the socket and timers stubbed in the guest,
// so the figures are the client's own work (plus the stubs'), as in docs/performance-targets.md's reference.

import { MqttClient } from "../../firmware/mqtt/client.js";
import { encodePuback } from "../../firmware/mqtt/encode.js";
import type { Transport, TransportEvents } from "../../firmware/platform/seam.js";
import { exposeMqttBench, PAYLOAD, TOPIC } from "./xs-mqtt-calls.js";

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
// PUBACKs for the packet ids of the client measured (fresh, so 1, 2, ...).
const acks = Array.from({ length: 4 }, (_, i) => encodePuback(i + 1));
let nextAck = 0;

exposeMqttBench({
  connect() {
    const made = new MqttClient(platform, options, events);
    made.connect(open);
    stream!.onOpen({});
    stream!.onData(CONNACK);
    return (client = made);
  },
  publish0: () => void client!.publish(TOPIC, PAYLOAD, 0),
  publish1: () => {
    client!.publish(TOPIC, PAYLOAD, 1);
    stream!.onData(acks[nextAck++]);
  },
  receiver: (packet) => () => stream!.onData(packet),
  facts: () => ({ inFlight: client!.inFlight, written }),
});

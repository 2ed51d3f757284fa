// Benchmark guest: Moddable's classic `mqtt` module (the reference in docs/performance-targets.md) inside XS,
// through the same calls as ours (xs-mqtt-calls.ts), over the stubbed socket and timers.

import Client from "moddable-mqtt";
import { exposeMqttBench, PAYLOAD, TOPIC } from "./xs-mqtt-calls.js";
import { lastSocket, runTimers } from "./xs-moddable-stubs.js";

const payload = PAYLOAD.slice().buffer;
const CONNACK = Uint8Array.of(0x20, 2, 0, 0).buffer;
const PUBACK = Uint8Array.of(0x40, 2, 0, 1).buffer;

let client: Client | undefined;

exposeMqttBench({
  connect() {
    const made = new Client({ host: "example.com", port: 8883, id: "device-001", timeout: 1200 * 1000 });
    made.onReady = () => {};
    made.onMessage = () => {};
    const socket = lastSocket!;
    socket.callback!(1);
    socket.receive(CONNACK);
    runTimers();
    return (client = made);
  },
  publish0: () => client!.publish(TOPIC, payload),
  publish1: () => {
    client!.publish(TOPIC, payload, { quality: 1 });
    lastSocket!.receive(PUBACK);
  },
  receiver(packet) {
    const data = packet.slice().buffer;
    return () => { lastSocket!.receive(data); runTimers(); };
  },
  facts: () => ({ written: lastSocket!.written }),
});

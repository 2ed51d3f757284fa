// Benchmark guest: Moddable's classic `mqtt` module (the reference in TARGETS.md) inside XS,
// driven exactly like xs-mqtt.guest.ts drives ours: same payload, topic and operations.

import Client from "moddable-mqtt";
import { exposeCalls } from "../runtime/xs/guest/bridge.js";
import { collect, computrons, steadyComputrons } from "./xs-meter.js";
import { lastSocket, runTimers } from "./xs-moddable-stubs.js";

const TOPIC = "device-001/telemetry";
const payload = new Uint8Array(100).fill(0x61).buffer;
const CONNACK = Uint8Array.of(0x20, 2, 0, 0).buffer;

let client: Client | undefined;
let kept: Client[] = [];

function connectClient(): Client {
  const made = new Client({ host: "example.com", port: 8883, id: "device-001", timeout: 1200 * 1000 });
  made.onReady = () => {};
  made.onMessage = () => {};
  const socket = lastSocket!;
  socket.callback!(1);
  socket.receive(CONNACK);
  runTimers();
  return made;
}

function inbound(topic: string, qos: number): ArrayBuffer {
  const t = new TextEncoder().encode(topic);
  const remaining = 2 + t.length + (qos ? 2 : 0) + 100;
  const bytes = new Uint8Array(1 + (remaining < 128 ? 1 : 2) + remaining);
  let o = 0;
  bytes[o++] = 0x30 | (qos << 1);
  if (remaining < 128) bytes[o++] = remaining;
  else { bytes[o++] = 0x80 | (remaining & 0x7f); bytes[o++] = remaining >> 7; }
  bytes[o++] = t.length >> 8; bytes[o++] = t.length & 0xff;
  bytes.set(t, o); o += t.length;
  if (qos) { bytes[o++] = 0; bytes[o++] = 77; }
  bytes.fill(0x61, o);
  return bytes.buffer;
}

exposeCalls({
  computrons() {
    connectClient();
    const connect = computrons(() => void (client = connectClient()));
    const c = client!;
    const socket = lastSocket!;
    const publish0 = steadyComputrons(() => c.publish(TOPIC, payload));
    const puback = Uint8Array.of(0x40, 2, 0, 1).buffer;
    const publish1 = steadyComputrons(() => {
      c.publish(TOPIC, payload, { quality: 1 });
      socket.receive(puback);
    });
    const receive = (data: ArrayBuffer) => () => { socket.receive(data); runTimers(); };
    return {
      result: {
        connect,
        publish0,
        publish1,
        inbound0: steadyComputrons(receive(inbound(TOPIC, 0))),
        inbound0LongTopic: steadyComputrons(receive(inbound(`${TOPIC}/${"x".repeat(100)}`, 0))),
        inbound1: steadyComputrons(receive(inbound(TOPIC, 1))),
        written: socket.written,
      },
    };
  },
  // As for ours: one connected client alive, then two; the difference is one client.
  heapBaseline() {
    kept = [connectClient()]; // also takes the first-use allocations, which are not the client's
    collect();
  },
  heapConnected() {
    kept.push(connectClient());
    collect();
  },
});

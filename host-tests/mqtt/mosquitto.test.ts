// The MQTT client over the Node TLS transport against a real mosquitto that requires client
// certificates: the whole stack as it runs under Node, on loopback.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Platform, TransportEvents } from "../../firmware/platform/seam.js";
import { MqttClient, type MqttConnectOptions, type OpenStream } from "../../firmware/mqtt/client.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { startMosquitto, type Mosquitto } from "../../host/peers/mosquitto.js";
import { brokerTls, deviceTls, testPki, type TestPki } from "./tls-fixture.js";
import { waitFor } from "../support/wait.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Device {
  client: MqttClient;
  messages: { topic: string; payload: string; dup: boolean }[];
  sessions: boolean[];
  disconnects: (Failure | undefined)[];
  /** Packet types (high nibble of the first byte) written and read, for keep-alive checks. */
  wrote: number[];
  read: number[];
  connect(): Promise<boolean>;
}

describe("MQTT client against mosquitto over mutual TLS", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let platform: Platform;
  let dir: string;
  const devices: Device[] = [];

  before(async () => {
    pki = await testPki();
    broker = await startMosquitto(brokerTls(pki));
    dir = mkdtempSync(join(tmpdir(), "mqtt-it-"));
    platform = createNodePlatform({ storageDir: dir, log: () => {} });
  });
  afterEach(() => {
    for (const d of devices.splice(0)) d.client.disconnect();
  });
  after(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function device(options: Partial<MqttConnectOptions> & { clientId: string }): Device {
    const d: Device = {
      client: undefined as unknown as MqttClient,
      messages: [], sessions: [], disconnects: [], wrote: [], read: [],
      connect: async () => {
        const [sessions, drops] = [d.sessions.length, d.disconnects.length];
        d.client.connect(open);
        await waitFor(`${options.clientId} to connect`, () => d.sessions.length > sessions || d.disconnects.length > drops);
        if (d.disconnects.length > drops) throw new Error(`connect failed: ${JSON.stringify(d.disconnects.at(-1))}`);
        return d.sessions[d.sessions.length - 1];
      },
    };
    // Taps the stream to see which packets go by (first byte of each chunk is enough here:
    // keep-alive packets travel alone on an idle link).
    const open: OpenStream = (events: TransportEvents) => {
      const t = platform.openTransport(deviceTls(pki, broker.port), {
        onOpen: (info) => events.onOpen(info),
        onData: (bytes) => { d.read.push(bytes[0] >> 4); events.onData(bytes); },
        onClose: (f) => events.onClose(f),
      });
      return { write: (bytes, more) => { d.wrote.push(bytes[0] >> 4); t.write(bytes, more); }, close: () => t.close() };
    };
    d.client = new MqttClient(platform, { cleanSession: true, keepAliveSeconds: 30, ...options }, {
      onConnected: (info) => { d.sessions.push(info.sessionPresent); },
      onMessage: (topic, payload, info) => { d.messages.push({ topic, payload: text(payload), dup: info.dup }); },
      onDisconnected: (f) => { d.disconnects.push(f); },
    });
    devices.push(d);
    return d;
  }

  function subscribe(d: Device, filter: string): Promise<(0 | 1 | 0x80)[]> {
    return new Promise((resolve, reject) => {
      const refused = d.client.subscribe([{ filter, qos: 1 }], (r) => (Array.isArray(r) ? resolve(r) : reject(new Error(r.code))));
      if (refused) reject(new Error(refused.code));
    });
  }

  it("connects with a certificate chain and subscribes with QoS 1 granted", async () => {
    const d = device({ clientId: "device-001" });
    assert.equal(await d.connect(), false);
    assert.equal(d.client.connected, true);
    assert.deepEqual(await subscribe(d, "device-001/cmd"), [1]);
  });

  it("round-trips 1000 QoS 1 messages through the broker with none lost or duplicated", async () => {
    const d = device({ clientId: "device-roundtrip" });
    await d.connect();
    await subscribe(d, "device-roundtrip/echo");
    let next = 0;
    let acked = 0;
    const pump = () => {
      while (next < 1000 && d.client.inFlight < 100) {
        const refused = d.client.publish("device-roundtrip/echo", utf8(String(next++)), 1, () => { acked++; pump(); });
        assert.equal(refused, undefined);
      }
    };
    pump();
    await waitFor("1000 PUBACKs and 1000 messages", () => acked === 1000 && d.messages.length >= 1000);
    await new Promise((r) => setTimeout(r, 100)); // a late duplicate would show up here
    const seen = d.messages.map((m) => Number(m.payload)).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(d.client.inFlight, 0);
  });

  it("keeps an idle link alive with PINGREQ/PINGRESP within the broker's 1.5x keep-alive", async () => {
    const d = device({ clientId: "device-idle", keepAliveSeconds: 1 });
    await d.connect();
    await new Promise((r) => setTimeout(r, 2600));
    assert.equal(d.client.connected, true, `disconnected: ${JSON.stringify(d.disconnects)}`);
    assert.ok(d.wrote.filter((t) => t === 12).length >= 2, "PINGREQs were sent");
    assert.ok(d.read.filter((t) => t === 13).length >= 2, "PINGRESPs came back");
  });

  it("resumes a persistent session after the broker drops the connection: queued messages flow both ways", async () => {
    const d = device({ clientId: "device-persist", cleanSession: false });
    await d.connect();
    await subscribe(d, "device-persist/in");
    await broker.restart();
    await waitFor("the drop to be noticed", () => d.disconnects.length === 1);
    assert.equal(d.disconnects[0]?.retryable, true);

    let delivered = false;
    assert.equal(d.client.publish("device-persist/out", utf8("from-device"), 1, () => { delivered = true; }), undefined);
    assert.equal(d.client.inFlight, 1);

    const peer = device({ clientId: "peer" });
    await peer.connect();
    await subscribe(peer, "device-persist/out");
    await new Promise<void>((resolve) => peer.client.publish("device-persist/in", utf8("to-device"), 1, () => resolve()));

    assert.equal(await d.connect(), true, "the broker kept the session");
    await waitFor("both queued messages", () => delivered && d.messages.length === 1 && peer.messages.length === 1);
    assert.deepEqual(d.messages.map((m) => [m.topic, m.payload]), [["device-persist/in", "to-device"]]);
    assert.deepEqual(peer.messages.map((m) => [m.topic, m.payload]), [["device-persist/out", "from-device"]]);
  });
});

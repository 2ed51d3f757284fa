// QoS 1 round trips per second through a local mosquitto over mutual TLS: each client publishes
// to a topic it subscribes to, 100 messages in flight, and a round trip counts when the message
// is back and its PUBACK arrived. Our client on the Node platform beside mqtt.js, same broker.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { createRootCa, issueCertificate, type Issued } from "../../../certs/pki.js";
import { MqttClient } from "../../../firmware/mqtt/client.js";
import type { Platform } from "../../../firmware/platform/seam.js";
import { createNodePlatform } from "../../runtime/node/platform.js";
import { startMosquitto } from "../../peers/mosquitto.js";
import type { BenchSection } from "../section.js";

const MESSAGES = 10_000;
const WINDOW = 100;
const PAYLOAD = new Uint8Array(100).fill(0x61);

interface Pki { root: Issued; server: Issued; device: Issued }

/** Runs the pump until `MESSAGES` came back and were acknowledged; resolves round trips/s. */
function measure(start: (done: () => void) => void, limitMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => reject(new Error(`round trips did not finish within ${limitMs} ms`)), limitMs);
    start(() => {
      clearTimeout(timer);
      resolve((MESSAGES / (performance.now() - t0)) * 1000);
    });
  });
}

async function oursOnce(platform: Platform, pki: Pki, port: number, id: string): Promise<number> {
  const topic = `${id}/echo`;
  let received = 0;
  let check = () => {};
  let connected!: () => void;
  let refused!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("our client did not connect within 10 s")), 10_000);
    connected = () => { clearTimeout(timer); resolve(); };
    refused = (e) => { clearTimeout(timer); reject(e); };
  });
  const client = new MqttClient(platform, { clientId: id, cleanSession: true, keepAliveSeconds: 60 }, {
    onConnected: () => client.subscribe([{ filter: topic, qos: 1 }], () => connected()),
    onMessage: () => { received++; check(); },
    onDisconnected: (f) => { if (f) refused(new Error(`our client disconnected: ${f.code}: ${f.message}`)); },
  });
  client.connect((events) => platform.openTransport({
    host: "127.0.0.1", port, serverName: "localhost", trustedCa: [pki.root.certDer],
    clientCertificates: [pki.device.certDer], clientKey: pki.device.key.privateKeyDer,
  }, events));
  await ready;
  try {
    return await measure((done) => {
      let sent = 0;
      let acked = 0;
      check = () => { if (acked === MESSAGES && received === MESSAGES) done(); };
      const pump = () => {
        while (sent < MESSAGES && client.inFlight < WINDOW) {
          sent++;
          client.publish(topic, PAYLOAD, 1, () => { acked++; pump(); check(); });
        }
      };
      pump();
    });
  } finally {
    client.disconnect();
  }
}

async function mqttJsOnce(pki: Pki, port: number, id: string): Promise<number> {
  const topic = `${id}/echo`;
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
    clientId: id, clean: true, keepalive: 60, protocolVersion: 4, reconnectPeriod: 0,
    ca: pki.root.certPem, cert: pki.device.certPem, key: pki.device.key.privateKeyPem,
    servername: "localhost", rejectUnauthorized: true,
  });
  await client.subscribeAsync(topic, { qos: 1 });
  const payload = Buffer.from(PAYLOAD);
  let received = 0;
  try {
    return await measure((done) => {
      let sent = 0;
      let acked = 0;
      let inFlight = 0;
      const check = () => { if (acked === MESSAGES && received === MESSAGES) done(); };
      client.on("message", () => { received++; check(); });
      const pump = () => {
        while (sent < MESSAGES && inFlight < WINDOW) {
          sent++;
          inFlight++;
          client.publish(topic, payload, { qos: 1 }, () => { inFlight--; acked++; pump(); check(); });
        }
      };
      pump();
    });
  } finally {
    await client.endAsync();
  }
}

export const roundTripSection: BenchSection = {
  name: "QoS 1 round trips via mosquitto over mutual TLS (host, Node)",
  async run(log) {
    log("making certificates and starting mosquitto...");
    const root = await createRootCa({ subject: { commonName: "Bench Root CA" } });
    const server = await issueCertificate({ issuer: root, subject: { commonName: "localhost" }, kind: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const device = await issueCertificate({ issuer: root, subject: { commonName: "bench-device" }, kind: "client" });
    const pki = { root, server, device };
    const broker = await startMosquitto({ caPem: root.certPem, serverCertPem: server.certPem, serverKeyPem: server.key.privateKeyPem });
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    try {
      const platform = createNodePlatform({ storageDir: dir, log: () => {} });
      let a = 0;
      let b = 0;
      for (let round = 0; round < 3; round++) {
        a = Math.max(a, await oursOnce(platform, pki, broker.port, `bench-ours-${round}`));
        b = Math.max(b, await mqttJsOnce(pki, broker.port, `bench-mqttjs-${round}`));
        log(`round ${round + 1}: ours ${a.toFixed(0)}/s, mqtt.js ${b.toFixed(0)}/s (best so far)`);
      }
      return [{ name: `QoS 1 round trips (${MESSAGES} x 100 B, ${WINDOW} in flight)`, unit: "round trips/s", ours: a, peer: { name: "mqtt.js", value: b }, higherIsBetter: true }];
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

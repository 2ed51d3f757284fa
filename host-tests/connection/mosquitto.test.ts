import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRootCa, issueCertificate, type Issued } from "../../certs/pki.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { startMosquitto, type Mosquitto } from "../../host/peers/mosquitto.js";
import { assembleConnection, validateConnectionConfig, type ConnectionCredentials, type ConnectionFields } from "../../firmware/connection/config.js";
import { modes } from "../../firmware/connection/mode.js";
import type { Platform } from "../../firmware/platform/seam.js";
import { roundTrip, connectFailure } from "./session.js";

describe("mtls mode against a real mosquitto over TLS", () => {
  let ca: Issued;
  let device: Issued;
  let broker: Mosquitto;
  let stateDir: string;
  let platform: Platform;

  before(async () => {
    ca = await createRootCa({ subject: { commonName: "Test Root" } });
    const server = await issueCertificate({ issuer: ca, subject: { commonName: "broker" }, kind: "server", dnsNames: ["mqtt.test"], ipAddresses: ["127.0.0.1"] });
    device = await issueCertificate({ issuer: ca, subject: { commonName: "device-1" }, kind: "client" });
    broker = await startMosquitto({ caPem: ca.certPem, serverCertPem: server.certPem, serverKeyPem: server.key.privateKeyPem });
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "conn-mosq-"));
    platform = createNodePlatform({ storageDir: stateDir, log: () => {} });
  });

  after(async () => {
    await broker?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  function link(fields: Partial<ConnectionFields>, credentials?: Partial<ConnectionCredentials>, p = platform) {
    const config = validateConnectionConfig({ mode: "mtls", endpoint: "127.0.0.1", port: broker.port, serverName: "mqtt.test", ...fields }, modes);
    assert.ok(config.ok, config.ok ? "" : config.failure.message);
    const assembled = assembleConnection(config.value, { trustedCa: [ca.certDer], clientKey: device.key.privateKeyDer, certificateChain: [device.certDer, ca.certDer], ...credentials }, p, modes);
    assert.ok(assembled.ok, assembled.ok ? "" : assembled.failure.message);
    return assembled.value;
  }

  it("connects with the device certificate chain, subscribes and round-trips QoS 1 messages", async () => {
    const got = await roundTrip(platform, link({}), "device-1", "device-1/echo");
    assert.deepEqual(got, ["message 0", "message 1", "message 2"]);
  });

  it("refuses a server whose certificate does not lead to the trusted CA: tls-untrusted-server", async () => {
    const other = await createRootCa({ subject: { commonName: "Other Root" } });
    const f = await connectFailure(platform, link({}, { trustedCa: [other.certDer] }), "device-1");
    assert.equal(f?.code, "tls-untrusted-server");
  });

  it("refuses a server certificate that does not name the server name: tls-hostname-mismatch", async () => {
    const f = await connectFailure(platform, link({ serverName: "wrong.example" }), "device-1");
    assert.equal(f?.code, "tls-hostname-mismatch");
  });

  it("reports the broker's refusal of a certificate from an unknown CA as tls-alert-unknown-ca", async () => {
    const rogue = await createRootCa({ subject: { commonName: "Rogue Root" } });
    const stranger = await issueCertificate({ issuer: rogue, subject: { commonName: "stranger" }, kind: "client" });
    const f = await connectFailure(platform, link({}, { clientKey: stranger.key.privateKeyDer, certificateChain: [stranger.certDer] }), "stranger");
    assert.equal(f?.code, "tls-alert-unknown-ca");
  });

  it("refuses to try TLS while the clock is unset, without opening a socket", async () => {
    let connections = 0;
    const counter = net.createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r));
    try {
      const unset = { ...platform, clock: { now: () => 0, isSet: () => false } };
      const port = (counter.address() as net.AddressInfo).port;
      const f = await connectFailure(unset, link({ port }, {}, unset), "device-1");
      assert.equal(f?.code, "clock-unset");
      assert.equal(connections, 0);
    } finally {
      await new Promise<void>((r) => counter.close(() => r()));
    }
  });
});

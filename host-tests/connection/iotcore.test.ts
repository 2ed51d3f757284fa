import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRootCa, fromPem, issueCertificate, type Issued } from "../../certs/pki.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { startIotCore, type IotCore } from "../../host/iotcore/index.js";
import { validateConnectionConfig, type ConnectionFields } from "../../firmware/connection/config.js";
import { assembleConnection, type ConnectionCredentials } from "../../firmware/connection/modes.js";
import type { Platform } from "../../firmware/platform/seam.js";
import { roundTrip, connectFailure } from "./session.js";

const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:*", Resource: "*" }] });

describe("connection modes against the local AWS IoT Core stand-in over TLS", function () {
  this.timeout(30_000);
  let core: IotCore;
  let stateDir: string;
  let platform: Platform;
  let serverCa: Uint8Array;
  let deviceCa: Issued;
  let device: Issued;
  let clients = 0;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "conn-iotcore-"));
    core = await startIotCore({ stateDir: path.join(stateDir, "core"), host: "127.0.0.1", ports: { mqtt: 0, https: 0, control: 0 }, connectIntervalMs: 0 });
    serverCa = fromPem(core.serverCaPem)[0];
    deviceCa = await createRootCa({ subject: { commonName: "Device Root" } });
    device = await issueCertificate({ issuer: deviceCa, subject: { commonName: "device-1" }, kind: "client" });
    const cert = core.registry.registerCertificate({ certificatePem: device.certPem, status: "ACTIVE" });
    core.registry.createPolicy("allow-all", ALLOW_ALL);
    core.registry.attachPolicy("allow-all", cert.certificateArn);
    platform = createNodePlatform({ storageDir: path.join(stateDir, "device"), log: () => {} });
  });

  after(async () => {
    await core?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const clientId = () => `device-${++clients}`;

  function link(fields: Partial<ConnectionFields> & { mode: string }, credentials?: Partial<ConnectionCredentials>) {
    const port = fields.mode === "mtls" ? core.ports.mqtt : core.ports.https;
    const config = validateConnectionConfig({ endpoint: "127.0.0.1", port, serverName: core.endpoint, ...fields });
    assert.ok(config.ok, config.ok ? "" : config.failure.message);
    const assembled = assembleConnection(config.value, { trustedCa: [serverCa], clientKey: device.key.privateKeyDer, certificateChain: [device.certDer], ...credentials }, platform);
    assert.ok(assembled.ok, assembled.ok ? "" : assembled.failure.message);
    return assembled.value;
  }

  for (const mode of ["mtls", "mtls-alpn"]) {
    it(`${mode}: connects, subscribes and round-trips QoS 1 messages`, async () => {
      const id = clientId();
      assert.deepEqual(await roundTrip(platform, link({ mode }), id, `${id}/echo`), ["message 0", "message 1", "message 2"]);
    });
  }

  it("mtls-alpn: a custom domain is reached by SNI and verified against its own server certificate", async () => {
    const domainCa = await createRootCa({ subject: { commonName: "Domain Root" } });
    const domainCert = await issueCertificate({ issuer: domainCa, subject: { commonName: "iot.example.com" }, kind: "server", dnsNames: ["iot.example.com"] });
    core.dataPlane.addServerName("iot.example.com", { key: domainCert.key.privateKeyPem, cert: domainCert.certPem });
    try {
      const id = clientId();
      const custom = link({ mode: "mtls-alpn", serverName: "iot.example.com" }, { trustedCa: [domainCa.certDer] });
      assert.deepEqual(await roundTrip(platform, custom, id, `${id}/echo`, 1), ["message 0"]);
      // The endpoint's own CA does not vouch for the custom domain's certificate.
      const wrongCa = await connectFailure(platform, link({ mode: "mtls-alpn", serverName: "iot.example.com" }), clientId());
      assert.equal(wrongCa?.code, "tls-untrusted-server");
    } finally {
      core.dataPlane.removeServerName("iot.example.com");
    }
  });

  it("mtls-alpn: a served name whose certificate does not carry it is tls-hostname-mismatch", async () => {
    const misissued = await issueCertificate({ issuer: deviceCa, subject: { commonName: "other.example.com" }, kind: "server", dnsNames: ["other.example.com"] });
    core.dataPlane.addServerName("iot.example.net", { key: misissued.key.privateKeyPem, cert: misissued.certPem });
    try {
      const f = await connectFailure(platform, link({ mode: "mtls-alpn", serverName: "iot.example.net" }, { trustedCa: [deviceCa.certDer] }), clientId());
      assert.equal(f?.code, "tls-hostname-mismatch");
    } finally {
      core.dataPlane.removeServerName("iot.example.net");
    }
  });

  it("mtls-alpn: a server name the endpoint does not serve is refused during the handshake", async () => {
    const f = await connectFailure(platform, link({ mode: "mtls-alpn", serverName: "unknown.example.org" }), clientId());
    assert.match(f?.code ?? "", /^tls-handshake-reset$|^tls-alert-/);
  });

  it("mtls-alpn pointed at the 8883 listener: ALPN is refused and MQTT never starts", async () => {
    const f = await connectFailure(platform, link({ mode: "mtls-alpn", port: core.ports.mqtt }), clientId());
    assert.equal(f?.code, "tls-alpn-refused");
  });

  it("mtls: a server that does not chain to the configured root CA is tls-untrusted-server", async () => {
    const f = await connectFailure(platform, link({ mode: "mtls" }, { trustedCa: [deviceCa.certDer] }), clientId());
    assert.equal(f?.code, "tls-untrusted-server");
  });

  it("mtls: a device certificate AWS does not know is refused and never connects", async () => {
    const stranger = await issueCertificate({ issuer: deviceCa, subject: { commonName: "stranger" }, kind: "client" });
    const f = await connectFailure(platform, link({ mode: "mtls" }, { clientKey: stranger.key.privateKeyDer, certificateChain: [stranger.certDer] }), clientId());
    assert.equal(f?.code, "mqtt-closed-before-connack");
  });
});

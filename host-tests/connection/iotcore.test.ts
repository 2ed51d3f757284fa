import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRootCa, fromPem, generateRsaKey, issueCertificate, type Issued, type KeyPair } from "../../certs/pki.js";
import { signToken } from "../../certs/authorizer.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { startIotCore, type IotCore } from "../../host/iotcore/index.js";
import { assembleConnection, validateConnectionConfig, type ConnectionCredentials, type ConnectionFields } from "../../firmware/connection/config.js";
import { modes } from "../../firmware/connection/mode.js";
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
  let tokenKey: KeyPair;

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
    // An authorizer function in place of Lambda: lets in the right token, or the right password.
    fs.mkdirSync(path.join(stateDir, "core", "functions"), { recursive: true });
    fs.writeFileSync(path.join(stateDir, "core", "functions", "deviceAuthorizer.mjs"), `
      export const handler = async (event) => {
        const password = event.protocolData?.mqtt?.password;
        const ok = event.token === "sample-token" || (password && Buffer.from(password, "base64").toString() === "open-sesame");
        return { isAuthenticated: !!ok, principalId: "device", disconnectAfterInSeconds: 3600, refreshAfterInSeconds: 300,
          policyDocuments: [${JSON.stringify(ALLOW_ALL)}] };
      };
    `);
    tokenKey = await generateRsaKey();
    const authorizers = core.auth.authorizers.operations();
    const functionArn = `arn:aws:lambda:us-east-1:123456789012:function:deviceAuthorizer`;
    await authorizers.CreateAuthorizer({ authorizerName: "signed-auth", authorizerFunctionArn: functionArn, tokenKeyName: "my-token", tokenSigningPublicKeys: { key1: tokenKey.publicKeyPem }, status: "ACTIVE" });
    await authorizers.CreateAuthorizer({ authorizerName: "unsigned-auth", authorizerFunctionArn: functionArn, signingDisabled: true, status: "ACTIVE" });
    core.auth.accessKeys.add({ accessKeyId: "AKIDDEVICE", secretAccessKey: "device-secret", principal: "device-user", policyDocuments: [ALLOW_ALL] });
  });

  after(async () => {
    await core?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const clientId = () => `device-${++clients}`;

  function link(fields: Partial<ConnectionFields> & { mode: string }, credentials?: Partial<ConnectionCredentials>) {
    const port = fields.mode === "mtls" ? core.ports.mqtt : core.ports.https;
    const cognito = { cognitoEndpoint: core.cognito.hostName, cognitoAddress: "127.0.0.1", cognitoPort: core.ports.https };
    if ((fields.connection as Record<string, unknown> | undefined)?.identityPoolId) Object.assign(fields.connection as object, cognito);
    const config = validateConnectionConfig({ endpoint: "127.0.0.1", port, serverName: core.endpoint, ...fields }, modes);
    assert.ok(config.ok, config.ok ? "" : config.failure.message);
    const assembled = assembleConnection(config.value, { trustedCa: [serverCa], clientKey: device.key.privateKeyDer, certificateChain: [device.certDer], ...credentials }, platform, modes);
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

  const signed = () => ({ authorizerName: "signed-auth", tokenKeyName: "my-token", token: "sample-token", tokenSignature: signToken("sample-token", tokenKey.privateKeyPem) });
  const cases: [string, string, () => Record<string, unknown>][] = [
    ["custom-auth", "signed token", signed],
    ["custom-auth", "username and password, signing disabled", () => ({ authorizerName: "unsigned-auth", username: "device", password: "open-sesame" })],
    ["wss-custom-auth", "signed token in headers", signed],
    ["wss-custom-auth", "signed token in the query string", () => ({ ...signed(), authInQuery: true })],
    ["wss-sigv4", "long-term access key", () => ({ accessKeyId: "AKIDDEVICE", secretAccessKey: "device-secret", region: "us-east-1" })],
  ];
  for (const [mode, what, connection] of cases) {
    it(`${mode} with ${what}: connects, subscribes and round-trips QoS 1 messages`, async () => {
      const id = clientId();
      assert.deepEqual(await roundTrip(platform, link({ mode, connection: connection() }), id, `${id}/echo`), ["message 0", "message 1", "message 2"]);
    });
  }

  it("wss-sigv4 with temporary credentials from a Cognito identity pool: connects and round-trips QoS 1 messages", async () => {
    const identityPoolId = core.cognito.createIdentityPool({ name: "devices", allowUnauthenticated: true, policyDocuments: [ALLOW_ALL] });
    const id = clientId();
    assert.deepEqual(await roundTrip(platform, link({ mode: "wss-sigv4", connection: { identityPoolId } }), id, `${id}/echo`), ["message 0", "message 1", "message 2"]);
  });

  it("custom-auth with the wrong token is refused with CONNACK 5: connack-not-authorized", async () => {
    const f = await connectFailure(platform, link({ mode: "custom-auth", connection: { ...signed(), token: "wrong-token", tokenSignature: signToken("wrong-token", tokenKey.privateKeyPem) } }), clientId());
    assert.equal(f?.code, "connack-not-authorized");
  });

  it("custom-auth with a signature that does not match the token is refused: connack-not-authorized", async () => {
    const f = await connectFailure(platform, link({ mode: "custom-auth", connection: { ...signed(), tokenSignature: signToken("another-token", tokenKey.privateKeyPem) } }), clientId());
    assert.equal(f?.code, "connack-not-authorized");
  });

  it("wss-custom-auth with the wrong token is refused with CONNACK 5: connack-not-authorized", async () => {
    const f = await connectFailure(platform, link({ mode: "wss-custom-auth", connection: { ...signed(), token: "nope", tokenSignature: signToken("nope", tokenKey.privateKeyPem) } }), clientId());
    assert.match(f?.code ?? "", /^connack-not-authorized$|^websocket-upgrade-refused$/);
  });

  it("wss-sigv4 signed 20 minutes in the past is refused at the upgrade: websocket-upgrade-refused (403)", async () => {
    const skewed = { ...platform, clock: { now: () => Date.now() - 20 * 60_000, isSet: () => true } };
    const config = validateConnectionConfig({ mode: "wss-sigv4", endpoint: "127.0.0.1", port: core.ports.https, serverName: core.endpoint, connection: { accessKeyId: "AKIDDEVICE", secretAccessKey: "device-secret" } }, modes);
    assert.ok(config.ok);
    const assembled = assembleConnection(config.value, { trustedCa: [serverCa] }, skewed, modes);
    assert.ok(assembled.ok);
    const f = await connectFailure(skewed, assembled.value, clientId());
    assert.equal(f?.code, "websocket-upgrade-refused");
    assert.match(f!.message, /HTTP 403/);
  });

  it("wss-sigv4 with the wrong secret is refused at the upgrade: websocket-upgrade-refused (403)", async () => {
    const f = await connectFailure(platform, link({ mode: "wss-sigv4", connection: { accessKeyId: "AKIDDEVICE", secretAccessKey: "not-the-secret" } }), clientId());
    assert.equal(f?.code, "websocket-upgrade-refused");
    assert.match(f!.message, /HTTP 403/);
  });

  it("wss-sigv4 with fixed credentials past their expiry stops with credentials-expired before any network use", async () => {
    const f = await connectFailure(platform, link({ mode: "wss-sigv4", endpoint: "127.0.0.1", port: 1, connection: { accessKeyId: "AKIDDEVICE", secretAccessKey: "device-secret", sessionToken: "t", credentialsExpiration: Date.now() - 1000 } }), clientId());
    assert.equal(f?.code, "credentials-expired");
  });
});

// Fleet provisioning by claim in the stand-in, driven by a plain MQTT client (mqtt.js) on
// AWS's documented topics and by the AWS CLI on the control plane: templates and versions,
// CreateKeysAndCertificate / CreateCertificateFromCsr / RegisterThing with their accepted and
// rejected documents, ownership tokens, the pre-provisioning hook, the claim's narrow policy.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { MqttClient } from "mqtt";
import { claimPolicy, fleetTemplate } from "../../certs/fleet.js";
import { TOKEN_LIFETIME_MS } from "../../host/iotcore/services/fleet-provisioning/ownership-tokens.js";
import { awsIot, closed, connectMtls, endClient, startCore, subscribeCodes, tempDir } from "../iotcore/helpers.js";

x509.cryptoProvider.set(webcrypto as never);

type Json = Record<string, unknown>;
interface Credentials { certPem: string; key: { privateKeyPem: string } }

const TEMPLATE = "fleet-test";
const CREATE = "$aws/certificates/create/json";
const CSR = "$aws/certificates/create-from-csr/json";
const REGISTER = `$aws/provisioning-templates/${TEMPLATE}/provision/json`;

/** Subscribes `<topic>/accepted` and `/rejected`, publishes the request, resolves the answer. */
async function request(client: MqttClient, topic: string, payload: Json): Promise<{ accepted: boolean; body: Json }> {
  const codes = await subscribeCodes(client, { [`${topic}/accepted`]: { qos: 1 }, [`${topic}/rejected`]: { qos: 1 } });
  assert.deepEqual(codes, [1, 1], `subscriptions to ${topic}/accepted and /rejected granted`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${topic} within 10 s`)), 10_000);
    const onMessage = (t: string, body: Buffer) => {
      if (t !== `${topic}/accepted` && t !== `${topic}/rejected`) return;
      clearTimeout(timer);
      client.removeListener("message", onMessage);
      resolve({ accepted: t.endsWith("/accepted"), body: JSON.parse(body.toString()) });
    };
    client.on("message", onMessage);
    client.publish(topic, JSON.stringify(payload), { qos: 1 });
  });
}

/** The batch's claim (made through the AWS CLI, ACTIVE), its policy and the enabled template, as a user sets them up. */
async function setUpClaim(core: Awaited<ReturnType<typeof startCore>>): Promise<Credentials> {
  const created = await awsIot(core, ["create-keys-and-certificate", "--set-as-active"]);
  assert.equal(created.code, 0, created.stderr);
  const policy = JSON.stringify(claimPolicy(core.region, core.accountId, TEMPLATE));
  assert.equal((await awsIot(core, ["create-policy", "--policy-name", "claim", "--policy-document", policy])).code, 0);
  assert.equal((await awsIot(core, ["attach-policy", "--policy-name", "claim", "--target", created.json.certificateArn])).code, 0);
  const template = fleetTemplate({ region: core.region, accountId: core.accountId });
  const made = await awsIot(core, ["create-provisioning-template", "--template-name", TEMPLATE, "--enabled",
    "--template-body", template.templateBody, "--provisioning-role-arn", template.provisioningRoleArn]);
  assert.equal(made.code, 0, made.stderr);
  return { certPem: created.json.certificatePem, key: { privateKeyPem: created.json.keyPair.PrivateKey } };
}

describe("fleet provisioning by claim: the stand-in", function () {
  this.timeout(60_000);
  const dir = tempDir("fleet");
  // The stand-in's clock runs with real time (signatures are checked against it), shifted to expire tokens.
  let offsetMs = 0;
  let core: Awaited<ReturnType<typeof startCore>>;
  let claim: Credentials;
  const clients: MqttClient[] = [];

  async function connect(credentials: Credentials, clientId: string): Promise<MqttClient> {
    const { client, connack } = await connectMtls(core, credentials, { clientId });
    clients.push(client);
    assert.equal(connack?.returnCode, 0, `${clientId} connected`);
    return client;
  }

  before(async () => {
    core = await startCore(join(dir.path, "state"), { now: () => Date.now() + offsetMs });
    claim = await setUpClaim(core);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => endClient(c)));
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("creates a key and certificate for the claim, registers a thing, and the new certificate connects as that thing and publishes", async () => {
    const device = await connect(claim, "SN-1");
    const keys = await request(device, CREATE, {});
    assert.ok(keys.accepted, JSON.stringify(keys.body));
    assert.deepEqual(Object.keys(keys.body).sort(), ["certificateId", "certificateOwnershipToken", "certificatePem", "privateKey"]);
    assert.equal(core.registry.getCertificate(String(keys.body.certificateId)).status, "PENDING_ACTIVATION");
    const registered = await request(device, REGISTER, { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: { SerialNumber: "SN-1" } });
    assert.ok(registered.accepted, JSON.stringify(registered.body));
    assert.deepEqual(registered.body, { deviceConfiguration: { model: "esp32" }, thingName: "device-SN-1" });
    const described = await awsIot(core, ["describe-thing", "--thing-name", "device-SN-1"]);
    assert.deepEqual(described.json.attributes, { serialNumber: "SN-1", model: "esp32", provisioning: "fleet" });
    assert.equal(core.registry.getCertificate(String(keys.body.certificateId)).status, "ACTIVE");
    const own = await connect({ certPem: String(keys.body.certificatePem), key: { privateKeyPem: String(keys.body.privateKey) } }, "device-SN-1");
    await new Promise<void>((resolve, reject) => own.publish("device-SN-1/telemetry", "{}", { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  });

  it("refuses the claim anything beyond the provisioning topics: a telemetry publish closes its connection", async () => {
    const device = await connect(claim, "SN-2");
    device.publish("device-SN-2/telemetry", "{}", { qos: 1 });
    assert.equal(await closed(device), true);
    assert.ok(core.lines.some((l) => l.includes("publish denied: client SN-2 topic device-SN-2/telemetry")));
  });

  it("answers on the requesting connection only: another unit of the same claim never sees the private key", async () => {
    const other = await connect(claim, "SN-3b");
    await subscribeCodes(other, { [`${CREATE}/accepted`]: { qos: 1 } });
    let leaked = false;
    other.on("message", () => { leaked = true; });
    const device = await connect(claim, "SN-3");
    assert.ok((await request(device, CREATE, {})).accepted);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(leaked, false);
  });

  it("answers a subscription by wildcard (`.../json/+`) as it answers the exact topics", async () => {
    const device = await connect(claim, "SN-3w");
    assert.deepEqual(await subscribeCodes(device, { [`${CREATE}/+`]: { qos: 1 } }), [1]);
    const answer = new Promise<string>((resolve) => device.once("message", (topic) => resolve(topic)));
    device.publish(CREATE, "{}", { qos: 1 });
    assert.equal(await answer, `${CREATE}/accepted`);
  });

  it("signs a certificate for a CSR, whose key never leaves the device", async () => {
    const keys = await webcrypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }, true, ["sign", "verify"]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=SN-4", keys, signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } });
    const device = await connect(claim, "SN-4");
    const created = await request(device, CSR, { certificateSigningRequest: csr.toString("pem") });
    assert.ok(created.accepted, JSON.stringify(created.body));
    assert.deepEqual(Object.keys(created.body).sort(), ["certificateId", "certificateOwnershipToken", "certificatePem"]);
    const issued = new x509.X509Certificate(String(created.body.certificatePem));
    assert.deepEqual(new Uint8Array(issued.publicKey.rawData), new Uint8Array(csr.publicKey.rawData));
    const bad = await request(device, CSR, { certificateSigningRequest: "not a csr" });
    assert.equal(bad.accepted, false);
    assert.equal(bad.body.statusCode, 400);
  });

  it("rejects RegisterThing with AWS's error document for an empty, forged or expired token", async () => {
    const device = await connect(claim, "SN-5");
    const empty = await request(device, REGISTER, { parameters: { SerialNumber: "SN-5" } });
    assert.deepEqual(empty.body, { statusCode: 400, errorCode: "InvalidCertificateOwnershipToken", errorMessage: "Certificate ownership token cannot be empty." });
    const keys = await request(device, CREATE, {});
    const token = String(keys.body.certificateOwnershipToken);
    const forged = await request(device, REGISTER, { certificateOwnershipToken: token.slice(0, -2) + "AA", parameters: { SerialNumber: "SN-5" } });
    assert.equal(forged.body.errorCode, "InvalidCertificateOwnershipToken");
    offsetMs += TOKEN_LIFETIME_MS + 1000;
    try {
      const expired = await request(device, REGISTER, { certificateOwnershipToken: token, parameters: { SerialNumber: "SN-5" } });
      assert.equal(expired.body.errorCode, "InvalidCertificateOwnershipToken");
      assert.match(String(expired.body.errorMessage), /expired/);
    } finally {
      offsetMs -= TOKEN_LIFETIME_MS + 1000;
    }
    assert.equal(core.registry.things.get("device-SN-5"), undefined);
  });

  it("registers the same token twice into one thing (a device that lost the answer retries)", async () => {
    const device = await connect(claim, "SN-6");
    const keys = await request(device, CREATE, {});
    const body = { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: { SerialNumber: "SN-6" } };
    assert.ok((await request(device, REGISTER, body)).accepted);
    assert.ok((await request(device, REGISTER, body)).accepted);
    assert.deepEqual(core.registry.getThing("device-SN-6").principals, [core.registry.getCertificate(String(keys.body.certificateId)).certificateArn]);
  });

  it("rejects missing parameters and a disabled template with the reason", async () => {
    const device = await connect(claim, "SN-7");
    const keys = await request(device, CREATE, {});
    const missing = await request(device, REGISTER, { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: {} });
    assert.equal(missing.body.errorCode, "InvalidParameters");
    assert.match(String(missing.body.errorMessage), /SerialNumber/);
    assert.equal((await awsIot(core, ["update-provisioning-template", "--template-name", TEMPLATE, "--no-enabled"])).code, 0);
    try {
      const disabled = await request(device, REGISTER, { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: { SerialNumber: "SN-7" } });
      assert.deepEqual(disabled.body, { statusCode: 403, errorCode: "TemplateDisabled", errorMessage: `Provisioning template ${TEMPLATE} is disabled.` });
    } finally {
      await awsIot(core, ["update-provisioning-template", "--template-name", TEMPLATE, "--enabled"]);
    }
  });

  it("runs the pre-provisioning hook: a deny is rejected with AccessDenied, an allow may override parameters", async () => {
    const functions = join(dir.path, "state", "functions");
    mkdirSync(functions, { recursive: true });
    writeFileSync(join(functions, "fleet-hook.mjs"), `export async function handler(event) {
      if (event.parameters.SerialNumber.startsWith("BAD")) return { allowProvisioning: false };
      return { allowProvisioning: true, parameterOverrides: { Model: "esp32-s3-" + event.claimCertificateId.slice(0, 4) } };
    }\n`);
    const hookArn = `arn:aws:lambda:${core.region}:${core.accountId}:function:fleet-hook`;
    const updated = await awsIot(core, ["update-provisioning-template", "--template-name", TEMPLATE, "--pre-provisioning-hook", `targetArn=${hookArn},payloadVersion=2020-04-01`]);
    assert.equal(updated.code, 0, updated.stderr);
    try {
      const device = await connect(claim, "SN-8");
      const keys = await request(device, CREATE, {});
      const denied = await request(device, REGISTER, { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: { SerialNumber: "BAD-1" } });
      assert.equal(denied.body.statusCode, 403);
      assert.equal(denied.body.errorCode, "AccessDenied");
      assert.equal(core.registry.things.get("device-BAD-1"), undefined);
      const allowed = await request(device, REGISTER, { certificateOwnershipToken: keys.body.certificateOwnershipToken, parameters: { SerialNumber: "SN-8" } });
      assert.ok(allowed.accepted, JSON.stringify(allowed.body));
      assert.match(String((allowed.body.deviceConfiguration as Json).model), /^esp32-s3-[0-9a-f]{4}$/);
    } finally {
      await awsIot(core, ["update-provisioning-template", "--template-name", TEMPLATE, "--remove-pre-provisioning-hook"]);
    }
  });

  it("keeps template versions as AWS does: describe, list, default, at most five, the default not deletable", async () => {
    const body = fleetTemplate({ region: core.region, accountId: core.accountId, thingNamePrefix: "unit-" }).templateBody;
    const v2 = await awsIot(core, ["create-provisioning-template-version", "--template-name", TEMPLATE, "--template-body", body]);
    assert.equal(v2.json.versionId, 2);
    assert.equal(v2.json.isDefaultVersion, false);
    const listed = await awsIot(core, ["list-provisioning-template-versions", "--template-name", TEMPLATE]);
    assert.deepEqual(listed.json.versions.map((v: Json) => [v.versionId, v.isDefaultVersion]), [[1, true], [2, false]]);
    assert.equal((await awsIot(core, ["update-provisioning-template", "--template-name", TEMPLATE, "--default-version-id", "2"])).code, 0);
    const described = await awsIot(core, ["describe-provisioning-template", "--template-name", TEMPLATE]);
    assert.equal(described.json.defaultVersionId, 2);
    assert.equal(described.json.templateBody, body);
    assert.equal(described.json.type, "FLEET_PROVISIONING");
    const refused = await awsIot(core, ["delete-provisioning-template-version", "--template-name", TEMPLATE, "--version-id", "2"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /DeleteConflictException/);
    for (let i = 0; i < 3; i++) assert.equal((await awsIot(core, ["create-provisioning-template-version", "--template-name", TEMPLATE, "--template-body", body])).code, 0);
    const sixth = await awsIot(core, ["create-provisioning-template-version", "--template-name", TEMPLATE, "--template-body", body]);
    assert.match(sixth.stderr, /VersionsLimitExceededException/);
    assert.equal((await awsIot(core, ["delete-provisioning-template-version", "--template-name", TEMPLATE, "--version-id", "1"])).code, 0);
    const all = await awsIot(core, ["list-provisioning-templates"]);
    assert.deepEqual(all.json.templates.map((t: Json) => t.templateName), [TEMPLATE]);
  });
});

describe("fleet provisioning by claim: RegisterThing at the account's rate", function () {
  this.timeout(60_000);
  const dir = tempDir("fleet-rate");
  // Frozen while the requests arrive, so the account's bucket does not refill between them.
  let frozenAt: number | undefined;
  let core: Awaited<ReturnType<typeof startCore>>;
  let device: MqttClient | undefined;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { now: () => frozenAt ?? Date.now(), accountLimits: { registrationsPerSecond: 1 } });
  });
  after(async () => {
    await endClient(device);
    await core?.close();
    dir.remove();
  });

  it("answers a RegisterThing over the rate with 429 ThrottlingException, and accepts the same request once the rate allows", async () => {
    const claim = await setUpClaim(core);
    const connected = await connectMtls(core, claim, { clientId: "SN-R" });
    assert.equal(connected.connack?.returnCode, 0);
    device = connected.client;
    const tokens = [String((await request(device, CREATE, {})).body.certificateOwnershipToken), String((await request(device, CREATE, {})).body.certificateOwnershipToken)];
    frozenAt = Date.now();
    const first = await request(device, REGISTER, { certificateOwnershipToken: tokens[0], parameters: { SerialNumber: "SN-R0" } });
    const second = await request(device, REGISTER, { certificateOwnershipToken: tokens[1], parameters: { SerialNumber: "SN-R1" } });
    assert.ok(first.accepted, JSON.stringify(first.body));
    assert.equal(second.accepted, false);
    assert.equal(second.body.statusCode, 429);
    assert.equal(second.body.errorCode, "ThrottlingException");
    assert.match(String(second.body.errorMessage), /over 1 RegisterThing requests per second for the account/);
    frozenAt += 1000;
    const again = await request(device, REGISTER, { certificateOwnershipToken: tokens[1], parameters: { SerialNumber: "SN-R1" } });
    assert.ok(again.accepted, JSON.stringify(again.body));
    assert.equal(again.body.thingName, "device-SN-R1");
  });
});

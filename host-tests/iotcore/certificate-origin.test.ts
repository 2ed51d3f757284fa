// How each certificate came to be, as DescribeCertificate's extra member `origin` says (the
// console shows it; the AWS SDKs drop members their model lacks, so it is read raw): registered
// through the API, created with its keys by the control plane, auto-registered for JITR, or
// created for a device by fleet provisioning's MQTT API. (JITP: host-tests/console/.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRootCa, issueCertificate } from "../../certs/pki.js";
import { ALLOW_ALL, awsIot, connectMtls, controlRequest, endClient, startCore, subscribeCodes, tempDir } from "./helpers.js";

describe("certificate origin (DescribeCertificate's origin member)", function () {
  this.timeout(60_000);   // each aws CLI call starts Python
  const dir = tempDir("origin");
  let core: Awaited<ReturnType<typeof startCore>>;

  const originOf = async (certificateId: string): Promise<unknown> => {
    const answer = await controlRequest(core, "GET", `/certificates/${certificateId}`);
    assert.equal(answer.status, 200, answer.body);
    return (JSON.parse(answer.body) as { certificateDescription: { origin?: unknown } }).certificateDescription.origin;
  };

  before(async () => {
    core = await startCore(join(dir.path, "state"));
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("says registered for a certificate registered through the API, and created for create-keys-and-certificate", async () => {
    const ca = await createRootCa({ subject: { commonName: "Origin CA" } });
    const device = await issueCertificate({ issuer: ca, subject: { commonName: "by-hand" }, kind: "client" });
    const registered = await awsIot(core, ["register-certificate-without-ca", "--certificate-pem", device.certPem, "--status", "ACTIVE"]);
    assert.equal(registered.code, 0, registered.stderr);
    assert.equal(await originOf(String(registered.json?.certificateId)), "registered");
    const created = await awsIot(core, ["create-keys-and-certificate"]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(await originOf(String(created.json?.certificateId)), "created");
  });

  it("says jitr for a certificate auto-registered by a CA without a provisioning template", async () => {
    const ca = await createRootCa({ subject: { commonName: "JITR origin CA" } });
    core.registry.registerCa({ caCertificatePem: ca.certPem, certificateMode: "SNI_ONLY", setAsActive: true, allowAutoRegistration: true });
    const device = await issueCertificate({ issuer: ca, subject: { commonName: "jitr-device" }, kind: "client" });
    const { client } = await connectMtls(core, device, { clientId: "jitr-device", chainPem: device.certPem + ca.certPem });
    await endClient(client);
    const record = core.registry.certificates.list().find((c) => c.certificatePem.replace(/\s/g, "") === device.certPem.replace(/\s/g, ""));
    assert.ok(record, "the certificate was auto-registered");
    assert.equal(await originOf(record.certificateId), "jitr");
  });

  it("says fleet-provisioning for a certificate created over $aws/certificates/create/json", async () => {
    const claim = await awsIot(core, ["create-keys-and-certificate", "--set-as-active"]);
    assert.equal(claim.code, 0, claim.stderr);
    assert.equal((await awsIot(core, ["create-policy", "--policy-name", "origin-claim", "--policy-document", ALLOW_ALL])).code, 0);
    assert.equal((await awsIot(core, ["attach-policy", "--policy-name", "origin-claim", "--target", String(claim.json?.certificateArn)])).code, 0);
    const keyPair = claim.json?.keyPair as { PrivateKey: string };
    const { client } = await connectMtls(core, { certPem: String(claim.json?.certificatePem), key: { privateKeyPem: keyPair.PrivateKey } }, { clientId: "origin-claim" });
    try {
      assert.deepEqual(await subscribeCodes(client, { "$aws/certificates/create/json/accepted": { qos: 1 } }), [1]);
      const accepted = new Promise<{ certificateId: string }>((resolve) => client.once("message", (_topic, body) => resolve(JSON.parse(body.toString()))));
      client.publish("$aws/certificates/create/json", "{}", { qos: 1 });
      assert.equal(await originOf((await accepted).certificateId), "fleet-provisioning");
    } finally {
      await endClient(client);
    }
  });
});

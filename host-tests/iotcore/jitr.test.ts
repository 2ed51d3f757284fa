// JITR (docs/aws-iot-core.md#just-in-time-registration-jitr): the device sends its certificate chained with a CA that allows
// auto-registration and has no template; the stand-in registers it PENDING_ACTIVATION,
// publishes the registered event, drops the connection; once activated through the control
// plane (@aws-sdk/client-iot, as the walkthrough's function does with boto3) the device connects.
import assert from "node:assert/strict";
import { join } from "node:path";
import { AttachPrincipalPolicyCommand, CreatePolicyCommand, DescribeCertificateCommand, IoTClient, UpdateCertificateCommand } from "@aws-sdk/client-iot";
import { createRootCa, fromPem, issueCertificate, type Issued } from "../../certs/pki.js";
import { certificateId } from "../../host/iotcore/registry/x509.js";
import { ALLOW_ALL, connectMtls, endClient, iotClient, registerDevice, startCore, tempDir } from "./helpers.js";

describe("JITR: registered event, activation through the control plane, reconnect", function () {
  const dir = tempDir("jitr");
  let core: Awaited<ReturnType<typeof startCore>>;
  let ca: Issued, device: Issued, stranger: Issued, caId: string;
  let iot: IoTClient;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { provisioningDelayMs: 50 });
    ca = await createRootCa({ subject: { commonName: "JITR CA" } });
    device = await issueCertificate({ issuer: ca, subject: { commonName: "jitr-device" }, kind: "client" });
    const otherCa = await createRootCa({ subject: { commonName: "Unregistered CA" } });
    stranger = await issueCertificate({ issuer: otherCa, subject: { commonName: "stranger" }, kind: "client" });
    caId = core.registry.registerCa({ caCertificatePem: ca.certPem, certificateMode: "SNI_ONLY", setAsActive: true, allowAutoRegistration: true }).certificateId;
    iot = iotClient(core);
  });
  after(async () => {
    iot?.destroy();
    await core?.close();
    dir.remove();
  });

  it("publishes $aws/events/certificates/registered/<caId> with AWS's fields and drops the first connect", async () => {
    const watcher = await issueCertificate({ issuer: ca, subject: { commonName: "watcher" }, kind: "client" });
    registerDevice(core, watcher, [ALLOW_ALL]);
    const sub = await connectMtls(core, watcher, { clientId: "watcher" });
    assert.equal(sub.connack?.returnCode, 0);
    const event = new Promise<{ topic: string; body: Record<string, unknown> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no registered event within 5 s")), 5000);
      sub.client.on("message", (topic, payload) => { clearTimeout(timer); resolve({ topic, body: JSON.parse(payload.toString()) }); });
    });
    await sub.client.subscribeAsync("$aws/events/certificates/registered/#", { qos: 1 });

    const first = await connectMtls(core, device, { clientId: "jitr-device", chainPem: device.certPem + ca.certPem });
    assert.equal(first.closedBeforeConnack, true, "the first connect is dropped");
    await endClient(first.client);
    const { topic, body } = await event;
    const id = certificateId(fromPem(device.certPem)[0]!);
    assert.equal(topic, `$aws/events/certificates/registered/${caId}`);
    assert.equal(body.certificateId, id);
    assert.equal(body.caCertificateId, caId);
    assert.equal(body.certificateStatus, "PENDING_ACTIVATION");
    assert.equal(body.awsAccountId, "123456789012");
    assert.equal(typeof body.timestamp, "number");
    assert.ok("certificateRegistrationTimestamp" in body);
    await endClient(sub.client);
  });

  it("keeps refusing the certificate while it is PENDING_ACTIVATION", async () => {
    await core.provisioningIdle();
    const again = await connectMtls(core, device, { clientId: "jitr-device", chainPem: device.certPem + ca.certPem });
    assert.equal(again.closedBeforeConnack, true);
    await endClient(again.client);
    assert.ok(core.lines.some((l) => /connect refused: client jitr-device .*PENDING_ACTIVATION/.test(l)));
  });

  it("accepts the device once a control-plane client activates it and attaches a policy", async () => {
    const id = certificateId(fromPem(device.certPem)[0]!);
    await iot.send(new UpdateCertificateCommand({ certificateId: id, newStatus: "ACTIVE" }));
    const cert = await iot.send(new DescribeCertificateCommand({ certificateId: id }));
    const policy = await iot.send(new CreatePolicyCommand({ policyName: `${id}-policy`, policyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }));
    await iot.send(new AttachPrincipalPolicyCommand({ policyName: policy.policyName, principal: cert.certificateDescription!.certificateArn }));
    const accepted = await connectMtls(core, device, { clientId: "jitr-device", chainPem: device.certPem + ca.certPem });
    assert.equal(accepted.connack?.returnCode, 0);
    assert.equal(cert.certificateDescription?.caCertificateId, caId);
    await endClient(accepted.client);
  });

  it("refuses a certificate from a CA that is not registered, without registering it", async () => {
    const result = await connectMtls(core, stranger, { clientId: "stranger", chainPem: stranger.certPem });
    assert.equal(result.closedBeforeConnack, true);
    await endClient(result.client);
    assert.equal(core.registry.certificates.has(certificateId(fromPem(stranger.certPem)[0]!)), false);
    assert.ok(core.lines.some((l) => /no registered CA issued it/.test(l)));
  });
});

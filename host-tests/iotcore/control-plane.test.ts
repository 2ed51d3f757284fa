// The control plane as official clients call it (@aws-sdk/client-iot, awscli): AWS's error
// names and shape, CA verification rules, SigV4 verification when asked, state across a
// restart, and a JITP template whose field the certificate lacks.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DescribeCACertificateCommand, DescribeCertificateCommand, GetRegistrationCodeCommand, IoTClient,
  ListCertificatesCommand, RegisterCACertificateCommand,
} from "@aws-sdk/client-iot";
import { createRootCa, fromPem, issueCertificate, type Issued } from "../../certs/pki.js";
import { certificateId } from "../../host/iotcore/registry/x509.js";
import { awsIot, connectMtls, controlRequest, endClient, iotClient, sdkError, startCore, tempDir, waitFor } from "./helpers.js";

describe("control plane with official clients", function () {
  const dir = tempDir("control");
  const state = join(dir.path, "state");
  let core: Awaited<ReturnType<typeof startCore>>;
  let iot: IoTClient;
  let ca: Issued, verification: Issued, wrongVerification: Issued, device: Issued;

  before(async () => {
    core = await startCore(state);
    iot = iotClient(core);
    const { registrationCode } = await iot.send(new GetRegistrationCodeCommand({}));
    ca = await createRootCa({ subject: { commonName: "Control CA" } });
    [verification, wrongVerification, device] = await Promise.all([
      issueCertificate({ issuer: ca, subject: { commonName: registrationCode! }, kind: "client" }),
      issueCertificate({ issuer: ca, subject: { commonName: "not-the-code" }, kind: "client" }),
      issueCertificate({ issuer: ca, subject: { commonName: "no-country" }, kind: "client" }),
    ]);
  });
  after(async () => {
    iot?.destroy();
    await core?.close();
    dir.remove();
  });

  it("refuses a verification certificate without the registration code as CertificateValidationException", async () => {
    const error = await sdkError(iot.send(new RegisterCACertificateCommand({ caCertificate: ca.certPem, verificationCertificate: wrongVerification.certPem })));
    assert.equal(error.name, "CertificateValidationException");
    assert.equal(error.status, 400);
  });

  it("registers the CA once and answers ResourceAlreadyExistsException the second time", async () => {
    const templateBody = JSON.stringify({
      Parameters: { "AWS::IoT::Certificate::CommonName": { Type: "String" }, "AWS::IoT::Certificate::Country": { Type: "String" } },
      Resources: { thing: { Type: "AWS::IoT::Thing", Properties: { ThingName: { Ref: "AWS::IoT::Certificate::CommonName" } } } },
    });
    const registered = await iot.send(new RegisterCACertificateCommand({
      caCertificate: ca.certPem, verificationCertificate: verification.certPem, setAsActive: true, allowAutoRegistration: true,
      registrationConfig: { templateBody, roleArn: "arn:aws:iam::123456789012:role/JITPRole" },
    }));
    assert.equal(registered.certificateId, certificateId(fromPem(ca.certPem)[0]!));
    const again = await sdkError(iot.send(new RegisterCACertificateCommand({ caCertificate: ca.certPem, verificationCertificate: verification.certPem })));
    assert.equal(again.name, "ResourceAlreadyExistsException");
  });

  it("answers ResourceNotFoundException for an unknown certificate, to both clients", async () => {
    const unknown = "0".repeat(64);
    assert.equal((await sdkError(iot.send(new DescribeCertificateCommand({ certificateId: unknown })))).name, "ResourceNotFoundException");
    const cli = await awsIot(core, ["describe-certificate", "--certificate-id", unknown]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /ResourceNotFoundException/);
  });

  it("leaves a JITP certificate PENDING_ACTIVATION when its subject lacks a template field, and logs the field", async () => {
    const first = await connectMtls(core, device, { clientId: "no-country", chainPem: device.certPem + ca.certPem });
    assert.equal(first.closedBeforeConnack, true);
    await endClient(first.client);
    await core.provisioningIdle();
    const id = certificateId(fromPem(device.certPem)[0]!);
    const described = await iot.send(new DescribeCertificateCommand({ certificateId: id }));
    assert.equal(described.certificateDescription?.status, "PENDING_ACTIVATION");
    assert.ok(core.lines.some((l) => l.includes(`jitp failed: certificate ${id} stays PENDING_ACTIVATION`) && l.includes("AWS::IoT::Certificate::Country")), core.lines.join("\n"));
  });

  it("answers AWS's 400 errors, not an internal failure, to members of the wrong type and to Object.prototype names as Cognito targets", async () => {
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await controlRequest(core, "POST", path, { body: JSON.stringify(body), headers, service: headers["x-amz-target"] ? "cognito-identity" : "iot" });
      return { status: response.status, type: response.type };
    };
    assert.deepEqual(await post("/policies/null-document", { policyDocument: "null" }), { status: 400, type: "MalformedPolicyException" });
    assert.deepEqual(await post("/certificate/register", { certificatePem: 5 }), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(await post("/", {}, { "x-amz-target": "AWSCognitoIdentityService.toString" }), { status: 400, type: "UnknownOperationException" });
    assert.equal(core.lines.some((l) => l.includes("internal failure")), false, core.lines.join("\n"));
  });

  it("keeps the registry across a restart of the stand-in", async () => {
    await core.close();
    core = await startCore(state);
    iot.destroy();
    iot = iotClient(core);
    const ca2 = await iot.send(new DescribeCACertificateCommand({ certificateId: certificateId(fromPem(ca.certPem)[0]!) }));
    assert.equal(ca2.certificateDescription?.autoRegistrationStatus, "ENABLE");
    assert.equal(ca2.registrationConfig?.roleArn, "arn:aws:iam::123456789012:role/JITPRole");
    const listed = await iot.send(new ListCertificatesCommand({}));
    assert.equal(listed.certificates?.length, 1);
  });
});

describe("control plane SigV4 verification", function () {
  const dir = tempDir("sigv4");
  let core: Awaited<ReturnType<typeof startCore>>;

  before(async () => { core = await startCore(join(dir.path, "state"), { credentials: { AKIDTEST: "right-secret" } }); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("accepts requests signed with the configured secret and refuses a wrong one", async () => {
    const good = iotClient(core, { accessKeyId: "AKIDTEST", secretAccessKey: "right-secret" });
    const bad = iotClient(core, { accessKeyId: "AKIDTEST", secretAccessKey: "wrong-secret" });
    try {
      assert.match((await good.send(new GetRegistrationCodeCommand({}))).registrationCode!, /^[0-9a-f]{64}$/);
      const error = await sdkError(bad.send(new GetRegistrationCodeCommand({})));
      assert.equal(error.name, "InvalidSignatureException");
      assert.ok(await waitFor(() => core.lines.some((l) => /GetRegistrationCode refused: InvalidSignatureException: signature does not match/.test(l))));
    } finally {
      good.destroy();
      bad.destroy();
    }
  });
});

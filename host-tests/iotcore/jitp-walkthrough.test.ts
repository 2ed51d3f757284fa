// The JITP walkthrough end to end, as a user follows it (docs/aws-iot-core.md, "The walkthroughs
// the tests replay"): openssl for the CA, verification and device
// certificates, awscli to register the CA with the JITP template, mosquitto_pub to connect
// (first connect dropped, second accepted), awscli to see the thing, certificate and policy.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsIot, run, startCore, tempDir } from "./helpers.js";

const TEMPLATE_POLICY = (region: string, account: string) => JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: ["iot:Connect"], Resource: [`arn:aws:iot:${region}:${account}:client/\${iot:Connection.Thing.ThingName}`] },
    { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`arn:aws:iot:${region}:${account}:topic/\${iot:Connection.Thing.ThingName}/*`] },
    { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`arn:aws:iot:${region}:${account}:topicfilter/\${iot:Connection.Thing.ThingName}/*`] },
  ],
});

const templateBody = (policyDocument: string) => JSON.stringify({
  Parameters: {
    "AWS::IoT::Certificate::CommonName": { Type: "String" },
    "AWS::IoT::Certificate::Country": { Type: "String" },
    "AWS::IoT::Certificate::Id": { Type: "String" },
  },
  Resources: {
    thing: { Type: "AWS::IoT::Thing", Properties: { ThingName: { Ref: "AWS::IoT::Certificate::CommonName" }, AttributePayload: { version: "v1", country: { Ref: "AWS::IoT::Certificate::Country" } } } },
    certificate: { Type: "AWS::IoT::Certificate", Properties: { CertificateId: { Ref: "AWS::IoT::Certificate::Id" }, Status: "ACTIVE" } },
    policy: { Type: "AWS::IoT::Policy", Properties: { PolicyDocument: policyDocument } },
  },
});

const CA_CONF = `[ req ]
distinguished_name       = req_distinguished_name
extensions               = v3_ca
req_extensions           = v3_ca

[ v3_ca ]
basicConstraints         = CA:TRUE

[ req_distinguished_name ]
countryName              = Country Name (2 letter code)
countryName_default      = IN
countryName_min          = 2
countryName_max          = 2
organizationName         = Organization Name (eg, company)
organizationName_default = AMZ
`;

describe("JITP walkthrough with openssl, awscli and mosquitto_pub", function () {
  this.timeout(60000);
  const dir = tempDir("jitp-walkthrough");
  let core: Awaited<ReturnType<typeof startCore>>;
  const cwd = dir.path;
  const openssl = async (...args: string[]) => {
    const result = await run("openssl", args, { cwd });
    assert.equal(result.code, 0, `openssl ${args.join(" ")}: ${result.stderr}`);
  };

  before(async () => {
    core = await startCore(join(dir.path, "state"), { provisioningDelayMs: 100 });
    writeFileSync(join(cwd, "awsRootCA.pem"), core.serverCaPem);
    writeFileSync(join(cwd, "deviceRootCA_openssl.conf"), CA_CONF);
    await openssl("genrsa", "-out", "deviceRootCA.key", "2048");
    await openssl("req", "-new", "-sha256", "-key", "deviceRootCA.key", "-nodes", "-out", "deviceRootCA.csr", "-config", "deviceRootCA_openssl.conf", "-subj", "/C=IN/O=AMZ");
    await openssl("x509", "-req", "-days", "3650", "-extfile", "deviceRootCA_openssl.conf", "-extensions", "v3_ca", "-in", "deviceRootCA.csr", "-signkey", "deviceRootCA.key", "-out", "deviceRootCA.pem");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("registers the CA with the verification certificate carrying the registration code and the template", async () => {
    const code = await awsIot(core, ["get-registration-code"]);
    assert.equal(code.code, 0, code.stderr);
    await openssl("genrsa", "-out", "verificationCert.key", "2048");
    await openssl("req", "-new", "-key", "verificationCert.key", "-out", "verificationCert.csr", "-subj", `/CN=${code.json.registrationCode}`);
    await openssl("x509", "-req", "-in", "verificationCert.csr", "-CA", "deviceRootCA.pem", "-CAkey", "deviceRootCA.key", "-CAcreateserial", "-out", "verificationCert.crt", "-days", "500", "-sha256");
    writeFileSync(join(cwd, "jitp_template.json"), JSON.stringify({
      templateBody: templateBody(TEMPLATE_POLICY(core.region, core.accountId)),
      roleArn: `arn:aws:iam::${core.accountId}:role/JITPRole`,
    }));
    const registered = await awsIot(core, ["register-ca-certificate", "--ca-certificate", "file://deviceRootCA.pem",
      "--verification-cert", "file://verificationCert.crt", "--set-as-active", "--allow-auto-registration",
      "--registration-config", "file://jitp_template.json"], cwd);
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.json.certificateArn, /^arn:aws:iot:us-east-1:123456789012:cacert\/[0-9a-f]{64}$/);
    const described = await awsIot(core, ["describe-ca-certificate", "--certificate-id", registered.json.certificateId]);
    assert.equal(described.json.certificateDescription.status, "ACTIVE");
    assert.equal(described.json.certificateDescription.autoRegistrationStatus, "ENABLE");
    assert.equal(described.json.registrationConfig.roleArn, `arn:aws:iam::${core.accountId}:role/JITPRole`);
  });

  it("drops the first mosquitto_pub, provisions, accepts the second and shows thing, certificate and policy", async () => {
    await openssl("genrsa", "-out", "deviceCert.key", "2048");
    await openssl("req", "-new", "-key", "deviceCert.key", "-out", "deviceCert.csr", "-subj", "/C=IN/CN=DemoThing");
    await openssl("x509", "-req", "-in", "deviceCert.csr", "-CA", "deviceRootCA.pem", "-CAkey", "deviceRootCA.key", "-CAcreateserial", "-out", "deviceCert.crt", "-days", "365", "-sha256");
    const chain = await run("sh", ["-c", "cat deviceCert.crt deviceRootCA.pem > deviceCertAndCACert.crt"], { cwd });
    assert.equal(chain.code, 0);
    const pub = (certFile: string, clientId: string, topic: string) => run("mosquitto_pub", ["--cafile", "awsRootCA.pem", "--cert", certFile,
      "--key", "deviceCert.key", "-h", "localhost", "-p", String(core.ports.mqtt), "-q", "1", "-t", topic, "-i", clientId,
      "--tls-version", "tlsv1.2", "-m", "Hello", "-d"], { cwd });

    const first = await pub("deviceCertAndCACert.crt", "anyclientID", "foo/bar");
    assert.notEqual(first.code, 0, "the first connect must fail while JITP runs");
    assert.match(first.stdout + first.stderr, /sending CONNECT/);
    await core.provisioningIdle();

    const second = await pub("deviceCert.crt", "DemoThing", "DemoThing/test");
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout + second.stderr, /received PUBACK/);

    const things = await awsIot(core, ["list-things"]);
    const thing = things.json.things.find((t: { thingName: string }) => t.thingName === "DemoThing");
    assert.deepEqual(thing.attributes, { version: "v1", country: "IN" });
    const certificates = await awsIot(core, ["list-certificates"]);
    assert.equal(certificates.json.certificates.length, 1);
    const certificate = certificates.json.certificates[0];
    assert.equal(certificate.status, "ACTIVE");
    const policies = await awsIot(core, ["list-principal-policies", "--principal", certificate.certificateArn]);
    assert.equal(policies.json.policies.length, 1);
    const policy = await awsIot(core, ["get-policy", "--policy-name", policies.json.policies[0].policyName]);
    assert.match(policy.json.policyDocument, /\$\{iot:Connection.Thing.ThingName\}/);
  });

  it("refuses the provisioned certificate when the client id is not the thing name", async () => {
    const denied = await run("mosquitto_pub", ["--cafile", "awsRootCA.pem", "--cert", "deviceCert.crt", "--key", "deviceCert.key",
      "-h", "localhost", "-p", String(core.ports.mqtt), "-q", "1", "-t", "DemoThing/test", "-i", "SomeoneElse", "-m", "Hello"], { cwd });
    assert.notEqual(denied.code, 0);
    assert.ok(core.lines.some((l) => /connect refused: client SomeoneElse .*iot:Connect .*default-deny/.test(l)), core.lines.join("\n"));
  });
});

// ACM as a custom-domain walkthrough written for AWS uses it, run verbatim with awscli: a
// requested (or imported) certificate's ARN goes to create-domain-configuration, and the
// data endpoint then serves that certificate for the domain's name.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { issueCertificate, createRootCa } from "../../certs/pki.js";
import { awsCli, startCore, tempDir } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

/** The certificate the "443" listener presents for `serverName`, verified against the stand-in's CA. */
function servedCertificate(core: Core, serverName: string): Promise<{ subjectaltname?: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: core.ports.https, servername: serverName, ca: core.serverCaPem, ALPNProtocols: ["http/1.1"] }, () => {
      const peer = socket.getPeerCertificate();
      resolve({ subjectaltname: peer.subjectaltname, authorized: socket.authorized });
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

describe("ACM for custom domains (awscli)", function () {
  // Each awscli run starts Python (1-4 s on a loaded machine).
  this.timeout(120_000);
  const dir = tempDir("acm");
  let core: Core;
  before(async () => { core = await startCore(join(dir.path, "state")); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("request-certificate is issued at once; its ARN serves a domain configuration; delete is refused while in use", async () => {
    const requested = await awsCli(core, "acm", ["request-certificate", "--domain-name", "iot.example.test", "--validation-method", "DNS"]);
    assert.equal(requested.code, 0, requested.stderr);
    const arn = requested.json.CertificateArn as string;
    assert.match(arn, /^arn:aws:acm:us-east-1:123456789012:certificate\/[0-9a-f-]{36}$/);
    assert.ok(core.lines.some((l) => l.includes(`acm: certificate ${arn} issued at once`) && l.includes("the stand-in skips that")));
    const described = await awsCli(core, "acm", ["describe-certificate", "--certificate-arn", arn]);
    assert.equal(described.json.Certificate.Status, "ISSUED");
    assert.deepEqual(described.json.Certificate.SubjectAlternativeNames, ["iot.example.test"]);

    const domain = await awsCli(core, "iot", ["create-domain-configuration", "--domain-configuration-name", "example", "--domain-name", "iot.example.test", "--server-certificate-arns", arn]);
    assert.equal(domain.code, 0, domain.stderr);
    const served = await servedCertificate(core, "iot.example.test");
    assert.equal(served.authorized, true);
    assert.equal(served.subjectaltname, "DNS:iot.example.test");

    const inUse = await awsCli(core, "acm", ["delete-certificate", "--certificate-arn", arn]);
    assert.match(inUse.stderr, /\(ResourceInUseException\)/);
    const listed = await awsCli(core, "acm", ["list-certificates"]);
    assert.deepEqual(listed.json.CertificateSummaryList.map((c: { CertificateArn: string }) => c.CertificateArn), [arn]);
  });

  it("import-certificate takes fileb:// PEM files as AWS does, and refuses a key that does not match", async () => {
    const ca = await createRootCa({ subject: { commonName: "Imported CA" } });
    const server = await issueCertificate({ issuer: ca, subject: { commonName: "imported.example.test" }, kind: "server", dnsNames: ["imported.example.test"] });
    const other = await issueCertificate({ issuer: ca, subject: { commonName: "other" }, kind: "server", dnsNames: ["other.example.test"] });
    const file = (name: string, text: string) => { const path = join(dir.path, name); writeFileSync(path, text); return `fileb://${path}`; };
    const imported = await awsCli(core, "acm", ["import-certificate", "--certificate", file("c.pem", server.certPem), "--private-key", file("k.pem", server.key.privateKeyPem), "--certificate-chain", file("ca.pem", ca.certPem)]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((await awsCli(core, "acm", ["describe-certificate", "--certificate-arn", imported.json.CertificateArn])).json.Certificate.Type, "IMPORTED");
    const mismatched = await awsCli(core, "acm", ["import-certificate", "--certificate", file("c2.pem", server.certPem), "--private-key", file("k2.pem", other.key.privateKeyPem)]);
    assert.match(mismatched.stderr, /\(ValidationException\)/);
    const unknown = await awsCli(core, "acm", ["describe-certificate", "--certificate-arn", "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"]);
    assert.match(unknown.stderr, /\(ResourceNotFoundException\)/);
  });
});

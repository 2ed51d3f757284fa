import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey, createVerify, verify as verifySignature, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { main } from "../../certs/cli.js";
import { layout } from "../../certs/commands.js";
import { createRootCa, issueCertificate } from "../../certs/pki.js";
import { decodeContainer } from "../../firmware/credentials/container.js";
import { loadCredentials } from "../../firmware/credentials/load.js";
import { MemoryStorage, partitionOf, recordingPlatform } from "../credentials/fixtures.js";

describe("certs CLI", () => {
  let dir: string;
  let files: ReturnType<typeof layout>;
  let device: ReturnType<ReturnType<typeof layout>["device"]>;

  async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...argv, "--out-dir", dir], (l) => out.push(l), (l) => err.push(l));
    return { code, out, err };
  }

  async function ok(...argv: string[]): Promise<string[]> {
    const r = await run(...argv);
    assert.equal(r.code, 0, r.err.join("\n"));
    return r.out;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "certs-cli-"));
    files = layout(dir);
    device = files.device("thing-7");
    await ok("ca", "--country", "US", "--organization", "Example");
    await ok("template", "--account-id", "123456789012", "--fields", "country,organization");
    await ok("verification", "--registration-code", "0123456789abcdef0123456789abcdef");
    await ok("device", "--thing-name", "thing-7", "--country", "US", "--organization", "Example", "--serial-number", "SN7");
    await ok("authorizer-keys");
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("OTA code signing", () => {
    let image: string;
    before(async () => {
      await ok("code-signing");
      image = join(dir, "firmware.bin");
      writeFileSync(image, Buffer.alloc(70_000, 0x5a));
    });

    it("makes a self-signed ECDSA P-256 certificate for code signing, its key kept private", () => {
      const cert = new X509Certificate(readFileSync(files.codeSigningPem));
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
      assert.ok(cert.verify(cert.publicKey), "self-signed");
      assert.match(openssl("x509", "-noout", "-ext", "extendedKeyUsage,keyUsage", "-in", files.codeSigningPem), /Code Signing[\s\S]*Digital Signature|Digital Signature[\s\S]*Code Signing/);
      assert.equal(statSync(files.codeSigningKeyPem).mode & 0o077, 0);
    });

    it("refuses to replace the code-signing key without --force", async () => {
      const r = await run("code-signing");
      assert.equal(r.code, 2);
      assert.match(r.err.join("\n"), /code-signing\.pem already exists; pass --force/);
    });

    it("sign-image prints the job document's sig-sha256-ecdsa: a DER ECDSA signature over the image's SHA-256 that the certificate verifies", async () => {
      const [line] = await ok("sign-image", "--image", image, "--json");
      const signed = JSON.parse(line!) as Record<string, unknown>;
      assert.equal(signed.filesize, 70_000);
      assert.equal(signed.certfile, "code-signing.pem");
      assert.equal(signed.sha256, createHash("sha256").update(readFileSync(image)).digest("hex"));
      const signature = Buffer.from(signed["sig-sha256-ecdsa"] as string, "base64");
      assert.equal(signature[0], 0x30, "DER SEQUENCE of r and s");
      const key = new X509Certificate(readFileSync(files.codeSigningPem)).publicKey;
      assert.ok(verifySignature("sha256", readFileSync(image), key, signature));
      assert.ok(!verifySignature("sha256", Buffer.alloc(70_000, 0x5b), key, signature), "another image does not verify");
      const [plain] = await ok("sign-image", "--image", image);
      assert.match(plain!, /^[A-Za-z0-9+/]+=*$/);
    });

    it("image --code-signing puts the certificate in the credentials image under its file name, and the device loads it", async () => {
      await ok("image", "--thing-name", "thing-7", "--trusted-ca", files.caPem, "--code-signing", files.codeSigningPem);
      const bytes = new Uint8Array(readFileSync(device.image));
      const decoded = decodeContainer(bytes);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.value.codeSigners.map((s) => s[0]), ["code-signing.pem"]);
      assert.deepEqual(Buffer.from(decoded.value.codeSigners[0]![1]), readFileSync(files.codeSigningDer));
      const loaded = loadCredentials(recordingPlatform(), { partition: partitionOf(bytes) });
      assert.ok(loaded.ok, loaded.ok ? "" : loaded.failure.message);
      assert.deepEqual(Buffer.from(loaded.value.codeSigners![0]![1]), readFileSync(files.codeSigningDer));
    });
  });

  function openssl(...args: string[]): string {
    return execFileSync("openssl", args, { encoding: "utf8" });
  }

  it("makes a device certificate and a verification certificate that openssl verifies against the CA", () => {
    assert.match(openssl("verify", "-CAfile", files.caPem, device.certPem), /: OK/);
    assert.match(openssl("verify", "-CAfile", files.caPem, files.verificationPem), /: OK/);
    assert.match(openssl("x509", "-noout", "-subject", "-in", files.verificationPem), /CN\s*=\s*0123456789abcdef0123456789abcdef/);
  });

  it("puts the thing name and every given template field in the device subject", () => {
    const subject = openssl("x509", "-noout", "-subject", "-nameopt", "oid", "-in", device.certPem);
    assert.match(subject, /2\.5\.4\.3\s*=\s*thing-7/);
    assert.match(subject, /2\.5\.4\.6\s*=\s*US/);
    assert.match(subject, /2\.5\.4\.10\s*=\s*Example/);
    assert.match(subject, /2\.5\.4\.5\s*=\s*SN7/);
  });

  it("writes the device key as RSA-2048 PKCS#8 DER and the chain as device then CA", () => {
    const text = openssl("pkey", "-inform", "DER", "-in", device.keyDer, "-noout", "-text");
    assert.match(text, /Private-Key: \(2048 bit/);
    assert.equal(readFileSync(device.keyDer)[0], 0x30);
    assert.equal(statSync(device.keyPem).mode & 0o077, 0, "key files are private to the owner");
    const chain = readFileSync(device.chainPem, "utf8");
    assert.equal(chain, readFileSync(device.certPem, "utf8") + readFileSync(files.caPem, "utf8"));
  });

  it("gives node:tls a client chain and key that a server trusting the CA authorizes", async () => {
    const serverCa = await createRootCa({ subject: { commonName: "Server CA" } });
    const server = await issueCertificate({ issuer: serverCa, kind: "server", subject: { commonName: "localhost" }, ipAddresses: ["127.0.0.1"] });
    const srv = tls.createServer({ key: server.key.privateKeyPem, cert: server.certPem, ca: readFileSync(files.caPem, "utf8"), requestCert: true, rejectUnauthorized: true });
    const seen = new Promise<string>((resolve) => srv.on("secureConnection", (s) => { resolve(String(s.getPeerCertificate().subject.CN)); s.end(); }));
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    try {
      const port = (srv.address() as AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("handshake timed out")), 5000);
        const socket = tls.connect({ host: "127.0.0.1", port, ca: serverCa.certPem, key: readFileSync(device.keyPem), cert: readFileSync(device.chainPem) });
        socket.on("secureConnect", () => { clearTimeout(timer); socket.end(); resolve(); });
        socket.on("error", (e) => { clearTimeout(timer); reject(e); });
      });
      assert.equal(await seen, "thing-7");
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it("refuses other device key types with the reason", async () => {
    const r = await run("device", "--thing-name", "t2", "--key-type", "ec");
    assert.equal(r.code, 2);
    assert.match(r.err.join("\n"), /key type 'ec' is refused: Moddable's TLS accepts only RSA PKCS#8 client keys/);
  });

  it("names the missing or bad argument and how to fix it", async () => {
    const cases: [string[], RegExp][] = [
      [["template"], /needs --account-id/],
      [["template", "--account-id", "12"], /not 12 digits; pass --account-id/],
      [["image", "--thing-name", "thing-7"], /needs --trusted-ca <file.pem>/],
      [["device", "--thing-name", "bad name"], /not valid; use 1-128 characters/],
      [["device", "--thing-name", "t3", "--country", "USA"], /two-letter/],
      [["device", "--bogus", "1"], /unknown option --bogus \(see `npm run certs -- device --help`\)/],
      [["image", "--thing-name", "nobody", "--trusted-ca", "/nonexistent.pem"], /cannot be read/],
      [["ca"], /already exists; pass --force/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.err.join("\n"), message);
    }
  });

  it("writes a JITP template with a least-privilege policy on the thing name and the chosen subject parameters", () => {
    const template = JSON.parse(readFileSync(files.template, "utf8")) as { templateBody: string; roleArn: string };
    assert.equal(template.roleArn, "arn:aws:iam::123456789012:role/JITPRole");
    const body = JSON.parse(template.templateBody);
    assert.deepEqual(Object.keys(body.Parameters).sort(), [
      "AWS::IoT::Certificate::CommonName",
      "AWS::IoT::Certificate::Country",
      "AWS::IoT::Certificate::Id",
      "AWS::IoT::Certificate::Organization",
    ]);
    assert.deepEqual(body.Resources.thing.Properties.ThingName, { Ref: "AWS::IoT::Certificate::CommonName" });
    assert.equal(body.Resources.certificate.Properties.Status, "ACTIVE");
    const policy = JSON.parse(body.Resources.policy.Properties.PolicyDocument);
    const arn = "arn:aws:iot:us-east-1:123456789012";
    assert.deepEqual(policy.Statement, [
      { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}:client/\${iot:Connection.Thing.ThingName}`] },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${arn}:topic/\${iot:Connection.Thing.ThingName}/*`, ...["shadow", "jobs", "streams"].map((s) => `${arn}:topic/$aws/things/\${iot:Connection.Thing.ThingName}/${s}/*`)] },
      { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`${arn}:topicfilter/\${iot:Connection.Thing.ThingName}/*`, ...["shadow", "jobs", "streams"].map((s) => `${arn}:topicfilter/$aws/things/\${iot:Connection.Thing.ThingName}/${s}/*`)] },
    ]);
  });

  it("warns when a device lacks a subject field the template declares", async () => {
    const out = await ok("device", "--thing-name", "no-org", "--country", "US");
    assert.ok(out.some((l) => /declares organization but this certificate lacks it/.test(l)));
  });

  it("signs a token exactly as openssl dgst -sha256 -sign does, verifiable with the public key", async () => {
    const [signature] = (await ok("sign-token", "--token", "sample-token")).slice(-1);
    const expected = execFileSync("sh", ["-c", `printf %s sample-token | openssl dgst -sha256 -sign '${files.authorizerKeyPem}' | openssl base64 -A`], { encoding: "utf8" });
    assert.equal(signature, expected);
    const verify = createVerify("sha256").update("sample-token");
    assert.ok(verify.verify(createPublicKey(readFileSync(files.authorizerPubPem, "utf8")), signature!, "base64"));
  });

  it("writes a partition image, a multiple of 4 KB, that the firmware reader loads", async () => {
    const out = await ok("image", "--thing-name", "thing-7", "--trusted-ca", files.caPem, "--endpoint", "x-ats.iot.us-east-1.amazonaws.com");
    const image = new Uint8Array(readFileSync(device.image));
    assert.equal(image.length % 4096, 0);
    assert.ok(out.some((l) => l === `partitions.csv line: devcerts,  data, 0x40,    ,  0x${image.length.toString(16)},`));
    const result = loadCredentials(recordingPlatform(), { partition: partitionOf(image) });
    assert.ok(result.ok, !result.ok ? result.failure.message : "");
    assert.deepEqual(result.value.clientKey, new Uint8Array(readFileSync(device.keyDer)));
    assert.deepEqual(result.value.certificateChain[0], new Uint8Array(readFileSync(device.certDer)));
    assert.deepEqual(result.value.settings, { thingName: "thing-7", endpoint: "x-ats.iot.us-east-1.amazonaws.com" });
  });

  it("writes Preference entries and a resource that the firmware reader loads", async () => {
    await ok("preference", "--thing-name", "thing-7", "--trusted-ca", files.caPem, "--setting", "mode=mtls");
    const storage = new MemoryStorage();
    for (const e of JSON.parse(readFileSync(device.preferenceJson, "utf8")) as { key: string; type: string; value: string }[]) {
      storage.set(e.key, e.type === "base64" ? new Uint8Array(Buffer.from(e.value, "base64")) : e.value);
    }
    const fromPreference = loadCredentials(recordingPlatform(Date.now(), storage), {});
    assert.ok(fromPreference.ok && fromPreference.value.settings.mode === "mtls");
    assert.match(readFileSync(device.nvsCsv, "utf8"), /^key,type,encoding,value\niotcore,namespace,,\ncreds\.n,data,string,\d+\ncreds\.0,data,base64,/);

    await ok("resources", "--thing-name", "thing-7", "--trusted-ca", files.caPem);
    const bytes = new Uint8Array(readFileSync(join(device.resourcesDir, "devcreds.bin")));
    const fromResource = loadCredentials(recordingPlatform(), { resource: (name) => (name === "devcreds.bin" ? bytes : undefined) });
    assert.ok(fromResource.ok && fromResource.value.source === "resource");
    assert.deepEqual(JSON.parse(readFileSync(join(device.resourcesDir, "manifest.json"), "utf8")), { resources: { "*": ["./devcreds"] } });
  });

  it("claim without a control plane writes a claim policy for the template's topics only and the fleet template, and refuses a bad account", async () => {
    const out = await ok("claim", "--template-name", "batch-7", "--account-id", "123456789012");
    assert.ok(out.some((l) => l.includes("aws iot create-keys-and-certificate --set-as-active")));
    const policy = JSON.parse(readFileSync(files.claimPolicy, "utf8")) as { Statement: { Action: string[]; Resource: string[] }[] };
    const resources = policy.Statement.flatMap((s) => s.Resource);
    assert.ok(resources.every((r) => r.endsWith(":client/*") || r.includes("$aws/certificates/create") || r.includes("$aws/provisioning-templates/batch-7/provision/json")), resources.join("\n"));
    const template = JSON.parse(readFileSync(files.fleetTemplate, "utf8")) as { templateName: string; type: string; templateBody: string; provisioningRoleArn: string };
    assert.equal(template.templateName, "batch-7");
    assert.equal(template.type, "FLEET_PROVISIONING");
    assert.ok(JSON.parse(template.templateBody).Parameters.SerialNumber);
    const bad = await run("claim", "--template-name", "batch-7", "--account-id", "12");
    assert.equal(bad.code, 2);
    assert.match(bad.err.join("\n"), /account id '12' is not 12 digits/);
  });

  it("answers --help through npm's entry point", () => {
    const text = execFileSync("npx", ["tsx", "certs/cli.ts", "device", "--help"], { encoding: "utf8", cwd: join(import.meta.dirname, "../..") });
    assert.match(text, /--thing-name/);
    assert.match(text, /--key-type/);
  });
});

// HTTPS publish on the stand-in, driven by clients we did not write: curl with a client
// certificate on the "8443" listener, openssl s_client with ALPN x-amzn-http-ca on "443"
// (curl 7.88 has no option to choose the ALPN protocol), `aws iot-data publish` (SigV4), a
// @smithy/signature-v4 presigned URL, and custom-authorizer headers and query strings; each
// accepted message reaches a mosquitto_sub subscriber on the "8883" listener.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Issued } from "../../certs/pki.js";
import type { IotCore } from "../../host/iotcore/index.js";
import { awsEnv, registeredDevice, run, startCore, tempDir, waitFor } from "../iotcore/helpers.js";

const ACCOUNT = "123456789012";
const PUBLISH_OWN_TOPICS = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "iot:Publish", Resource: `arn:aws:iot:us-east-1:${ACCOUNT}:topic/\${iot:Certificate.Subject.CommonName}/*` }],
});
const PUBLISH_DEV1 = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:Publish", Resource: `arn:aws:iot:us-east-1:${ACCOUNT}:topic/dev1/*` }] });
const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:*", Resource: "*" }] });
const SECRET = "publisher-secret";

interface Answer { status: number; errorType?: string; body: Record<string, unknown> }

describe("HTTPS publish (stand-in): the four HTTPS rows of AWS IoT Core's protocol table", function () {
  this.timeout(120_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  let device: Issued;
  let subscriber: ChildProcess | undefined;
  let received: string[] = [];
  const signingKeys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const file = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };

  /** POSTs with node:https; `cert` presents the device certificate, `alpn` offers one protocol. */
  function post(path: string, o: { port?: number; cert?: Issued; alpn?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = httpsRequest({
        host: "127.0.0.1", port: o.port ?? core.ports.https, method: "POST", path, servername: core.endpoint, ca: core.serverCaPem, agent: false,
        ...(o.cert ? { cert: o.cert.certPem, key: o.cert.key.privateKeyPem } : {}), ...(o.alpn ? { ALPNProtocols: [o.alpn] } : {}),
        headers: { host: core.endpoint, ...o.headers },
      }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () => resolve({
          status: response.statusCode ?? 0, errorType: response.headers["x-amzn-errortype"] as string | undefined,
          body: JSON.parse(Buffer.concat(chunks).toString() || "{}"),
        }));
      });
      request.on("error", reject);
      request.end(o.body ?? "{}");
    });
  }

  /** mosquitto_sub on the "8883" listener, subscribed to dev1/# once the stand-in logs the SUBACK. */
  async function subscribe(): Promise<void> {
    const reader = await registeredDevice(core, "reader", [ALLOW_ALL]);
    received = [];
    subscriber = spawn("mosquitto_sub", ["-h", "localhost", "-p", String(core.ports.mqtt), "--cafile", file("ca.pem", core.serverCaPem),
      "--cert", file("reader.pem", reader.certPem), "--key", file("reader.key", reader.key.privateKeyPem), "-i", "reader", "-t", "dev1/#", "-q", "1", "-v"]);
    subscriber.stdout!.on("data", (chunk: Buffer) => received.push(...chunk.toString().split("\n").filter((l) => l.length > 0)));
    assert.ok(await waitFor(() => core.lines.some((l) => l.startsWith("subscribe allowed: client reader"))), "mosquitto_sub subscribed");
  }

  before(async () => {
    dir = tempDir("https-publish");
    mkdirSync(join(dir.path, "functions"), { recursive: true });
    writeFileSync(join(dir.path, "functions", "publish_authorizer.mjs"),
      `export const handler = async (event) => ({ isAuthenticated: event.signatureVerified === true && event.token === "dev1", principalId: "dev1token", disconnectAfterInSeconds: 300, refreshAfterInSeconds: 300, policyDocuments: [${JSON.stringify(PUBLISH_DEV1)}] });`);
    core = await startCore(dir.path);
    device = await registeredDevice(core, "dev1", [PUBLISH_OWN_TOPICS]);
    core.auth.accessKeys.add({ accessKeyId: "AKIDPUBLISHER", secretAccessKey: SECRET, principal: "publisher", policyDocuments: [PUBLISH_DEV1] });
    await core.auth.authorizers.operations().CreateAuthorizer({
      authorizerName: "publish-authorizer", authorizerFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:publish_authorizer`,
      tokenKeyName: "device-token", tokenSigningPublicKeys: { k1: signingKeys.publicKey }, status: "ACTIVE",
    });
    await subscribe();
  });
  after(async () => {
    subscriber?.kill();
    await core.close();
    dir.remove();
  });

  it("curl with a client certificate on the 8443 listener gets AWS's OK and the message reaches mosquitto_sub", async () => {
    const result = await run("curl", ["-sS", "--tlsv1.2", "--cacert", file("ca.pem", core.serverCaPem), "--cert", file("dev1.pem", device.certPem),
      "--key", file("dev1.key", device.key.privateKeyPem), "--resolve", `${core.endpoint}:${core.ports.httpsMtls}:127.0.0.1`,
      "-X", "POST", "--data", '{"seq":1}', `https://${core.endpoint}:${core.ports.httpsMtls}/topics/dev1/telemetry?qos=1`]);
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.equal(body.message, "OK");
    assert.match(body.traceId, /^[0-9a-f-]{36}$/);
    assert.ok(await waitFor(() => received.includes('dev1/telemetry {"seq":1}')), `mosquitto_sub got ${JSON.stringify(received)}`);
    assert.ok(core.lines.some((l) => l.includes("https publish allowed via 8443 topic dev1/telemetry qos 1: certificate")));
  });

  it("openssl s_client with ALPN x-amzn-http-ca on the 443 listener publishes with the client certificate", async () => {
    const body = '{"seq":2}';
    const requestText = `POST /topics/dev1%2Ftelemetry?qos=0 HTTP/1.1\r\nHost: ${core.endpoint}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn("openssl", ["s_client", "-quiet", "-connect", `127.0.0.1:${core.ports.https}`, "-servername", core.endpoint, "-alpn", "x-amzn-http-ca",
        "-CAfile", file("ca.pem", core.serverCaPem), "-verify_return_error", "-cert", file("dev1.pem", device.certPem), "-key", file("dev1.key", device.key.privateKeyPem)]);
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
      child.stderr.on("data", () => undefined);
      child.on("close", (code) => resolve({ code, stdout }));
      child.stdin.end(requestText);
    });
    assert.match(result.stdout, /^HTTP\/1\.1 200 OK/);
    assert.match(result.stdout, /\{"message":"OK","traceId":"[0-9a-f-]{36}"\}/);
    assert.ok(await waitFor(() => received.includes('dev1/telemetry {"seq":2}')));
    assert.ok(core.lines.some((l) => l.includes("https publish allowed via 443 alpn=x-amzn-http-ca topic dev1/telemetry qos 0")));
  });

  it("aws iot-data publish (SigV4 Authorization header) reaches mosquitto_sub", async () => {
    const result = await run("aws", ["iot-data", "publish", "--topic", "dev1/telemetry", "--qos", "1", "--payload", `fileb://${file("payload.json", '{"seq":3}')}`,
      "--endpoint-url", `https://localhost:${core.ports.https}`, "--ca-bundle", file("ca.pem", core.serverCaPem), "--output", "json"],
    { env: { ...awsEnv(core), AWS_ACCESS_KEY_ID: "AKIDPUBLISHER", AWS_SECRET_ACCESS_KEY: SECRET }, timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await waitFor(() => received.includes('dev1/telemetry {"seq":3}')));
    assert.ok(core.lines.some((l) => l.includes("topic dev1/telemetry qos 1: sigv4 publisher")));
  });

  it("a URL presigned for iotdata by @smithy/signature-v4 publishes the signed body", async () => {
    const body = '{"seq":4}';
    const signer = new SignatureV4({ service: "iotdata", region: "us-east-1", sha256: Sha256, credentials: { accessKeyId: "AKIDPUBLISHER", secretAccessKey: SECRET } });
    const signed = await signer.presign({ method: "POST", protocol: "https:", hostname: core.endpoint, path: "/topics/dev1%2Ftelemetry", headers: { host: core.endpoint }, query: { qos: "1" }, body }, { expiresIn: 300 });
    const query = Object.entries(signed.query ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&");
    const answer = await post(`/topics/dev1%2Ftelemetry?${query}`, { body });
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.ok(await waitFor(() => received.includes('dev1/telemetry {"seq":4}')));
  });

  it("custom authentication in headers and in the query string, with AWS's signed token", async () => {
    const signature = sign("sha256", Buffer.from("dev1"), signingKeys.privateKey).toString("base64");
    const inHeaders = await post("/topics/dev1/telemetry?qos=1", {
      body: '{"seq":5}', headers: { "x-amz-customauthorizer-name": "publish-authorizer", "x-amz-customauthorizer-signature": signature, "device-token": "dev1" },
    });
    assert.equal(inHeaders.status, 200, core.lines.filter((l) => l.includes("refused")).join("\n"));
    const inQuery = await post(`/topics/dev1/telemetry?qos=1&x-amz-customauthorizer-name=publish-authorizer&x-amz-customauthorizer-signature=${encodeURIComponent(signature)}&device-token=dev1`, { body: '{"seq":6}' });
    assert.equal(inQuery.status, 200, JSON.stringify(inQuery));
    assert.ok(await waitFor(() => received.includes('dev1/telemetry {"seq":5}') && received.includes('dev1/telemetry {"seq":6}')));
  });

  describe("refusals, each with AWS's status and error code", () => {
    const forbidden = (answer: Answer, logged: RegExp) => {
      assert.equal(answer.status, 403, JSON.stringify(answer));
      assert.equal(answer.errorType, "ForbiddenException");
      assert.ok(core.lines.some((l) => l.startsWith("https publish refused") && logged.test(l)), `log names the cause (${logged})`);
    };

    it("8443 without a client certificate: 403", async () => {
      forbidden(await post("/topics/dev1/t", { port: core.ports.httpsMtls }), /via 8443 topic dev1\/t: no client certificate/);
    });

    it("8443 with a certificate the registry does not know: 403", async () => {
      const { createRootCa, issueCertificate } = await import("../../certs/pki.js");
      const stranger = await issueCertificate({ issuer: await createRootCa({ subject: { commonName: "Stranger CA" } }), subject: { commonName: "stranger" }, kind: "client" });
      forbidden(await post("/topics/stranger/t", { port: core.ports.httpsMtls, cert: stranger }), /topic stranger\/t: .*(unknown|not registered|no CA)/i);
    });

    it("ALPN x-amzn-http-ca on 443 without a client certificate: 403", async () => {
      forbidden(await post("/topics/dev1/t", { alpn: "x-amzn-http-ca" }), /alpn=x-amzn-http-ca topic dev1\/t: no client certificate/);
    });

    it("a certificate whose policy does not cover the topic: 403 Forbidden, the log names the ARN", async () => {
      forbidden(await post("/topics/other/t", { port: core.ports.httpsMtls, cert: device }), /iot:Publish on arn:aws:iot:us-east-1:123456789012:topic\/other\/t: default-deny/);
    });

    it("no credentials at all on 443: 403, the log says what was missing", async () => {
      forbidden(await post("/topics/dev1/t"), /no certificate .* no SigV4 signature, and custom authentication failed: authorizer-missing/);
    });

    it("a custom-auth token whose signature does not verify: 403", async () => {
      const wrong = sign("sha256", Buffer.from("someone-else"), signingKeys.privateKey).toString("base64");
      forbidden(await post("/topics/dev1/t", { headers: { "x-amz-customauthorizer-name": "publish-authorizer", "x-amz-customauthorizer-signature": wrong, "device-token": "dev1" } }), /authorizer-signature-invalid/);
    });

    it("a custom authorizer that does not exist: 403", async () => {
      forbidden(await post("/topics/dev1/t", { headers: { "x-amz-customauthorizer-name": "nobody", "device-token": "dev1" } }), /authorizer-unknown/);
    });

    it("SigV4: a wrong secret, an unknown key and another region are refused", async () => {
      const publish = (env: Record<string, string>) => run("aws", ["iot-data", "publish", "--topic", "dev1/telemetry", "--payload", `fileb://${file("p.json", "{}")}`,
        "--endpoint-url", `https://localhost:${core.ports.https}`, "--ca-bundle", file("ca.pem", core.serverCaPem)],
      { env: { ...awsEnv(core), AWS_ACCESS_KEY_ID: "AKIDPUBLISHER", AWS_SECRET_ACCESS_KEY: SECRET, ...env }, timeoutMs: 30_000 });
      const wrongSecret = await publish({ AWS_SECRET_ACCESS_KEY: "not-the-secret" });
      assert.notEqual(wrongSecret.code, 0);
      assert.match(wrongSecret.stderr, /InvalidSignatureException.*The request signature we calculated does not match/);
      const unknown = await publish({ AWS_ACCESS_KEY_ID: "AKIDUNKNOWN" });
      assert.match(unknown.stderr, /ForbiddenException.*The security token included in the request is invalid/);
      const region = await publish({ AWS_DEFAULT_REGION: "us-east-2" });
      assert.match(region.stderr, /InvalidSignatureException.*Credential should be scoped to a valid region, not 'us-east-2'/);
    });

    it("quotas of an MQTT publish: QoS 2 and a bad topic are 400, a payload over 128 KB is 413", async () => {
      const qos2 = await post("/topics/dev1/t?qos=2", { port: core.ports.httpsMtls, cert: device });
      assert.equal(qos2.status, 400);
      assert.equal(qos2.errorType, "InvalidRequestException");
      const slashes = await post("/topics/dev1/a/b/c/d/e/f/g/h?qos=1", { port: core.ports.httpsMtls, cert: device });
      assert.equal(slashes.status, 400);
      assert.match(String(slashes.body.message), /8 slashes, more than 7/);
      const large = await post("/topics/dev1/t?qos=1", { port: core.ports.httpsMtls, cert: device, body: Buffer.alloc(128 * 1024 + 1, 0x61) });
      assert.equal(large.status, 413);
      assert.equal(large.errorType, "RequestEntityTooLargeException");
    });
  });

  it("retain=true keeps the message for a later subscriber, as an MQTT retained publish does", async () => {
    const answer = await post("/topics/dev1/state?qos=1&retain=true", { port: core.ports.httpsMtls, cert: device, body: '{"on":true}' });
    assert.equal(answer.status, 200);
    const reader = await registeredDevice(core, "late", [ALLOW_ALL]);
    const late = await run("mosquitto_sub", ["-h", "localhost", "-p", String(core.ports.mqtt), "--cafile", file("ca.pem", core.serverCaPem),
      "--cert", file("late.pem", reader.certPem), "--key", file("late.key", reader.key.privateKeyPem), "-i", "late", "-t", "dev1/state", "-C", "1", "-W", "10", "-v"]);
    assert.equal(late.stdout.trim(), 'dev1/state {"on":true}');
  });
});

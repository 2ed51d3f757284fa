// The HTTPS modes' pure pieces: the strict HTTP/1.1 response reader, the post queue kept in
// Preference, and the SigV4 signature of a publish, checked against @smithy/signature-v4 and
// against the stand-in's verifier.
import assert from "node:assert/strict";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { createResponseReader, type ResponseDone } from "../../firmware/https/response.js";
import { loadPostQueue, POST_QUEUE_KEY, PREFERENCE_VALUE_BYTES } from "../../firmware/https/post-queue.js";
import { publishHead, topicPath, type HttpsLink } from "../../firmware/https/request.js";
import { signPost } from "../../firmware/sigv4/header.js";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Storage } from "../../firmware/platform/seam.js";
import { createHash, createHmac } from "node:crypto";
import { verifySignedRequest } from "../../host/iotcore/auth/sigv4.js";

const nodeCrypto = {
  sha256: (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest()),
  sha1: (data: Uint8Array) => new Uint8Array(createHash("sha1").update(data).digest()),
  hmacSha256: (key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
};
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Feeds `chunks` one after the other; the first non-undefined result. */
function feed(chunks: string[], maxBody?: number): ResponseDone | Failure | undefined {
  const reader = createResponseReader(maxBody);
  for (const chunk of chunks) {
    const result = reader.feed(bytes(chunk));
    if (result) return result;
  }
  return undefined;
}

function split(whole: string): string[] {
  return [...whole];
}

describe("HTTPS publish: the HTTP/1.1 response reader", () => {
  it("reads a Content-Length body that arrives one byte at a time, and leaves the next response's bytes", () => {
    const result = feed(split('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 36\r\n\r\n{"message":"OK","traceId":"abc-123"}HTTP/1.1'));
    assert.ok(result && !("code" in result));
    assert.equal(result.response.status, 200);
    assert.equal(text(result.response.body), '{"message":"OK","traceId":"abc-123"}');
  });

  it("keeps the bytes after a complete response for the next one on a keep-alive connection", () => {
    const result = feed(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 403 Forbidden\r\n']);
    assert.ok(result && !("code" in result));
    assert.equal(text(result.rest), "HTTP/1.1 403 Forbidden\r\n");
  });

  it("reads a chunked body with a chunk extension and trailers, split anywhere", () => {
    const whole = 'HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nx-amzn-ErrorType: ForbiddenException\r\n\r\n5;name=x\r\n{"mes\r\n11\r\nsage":"Forbidden"\r\n1\r\n}\r\n0\r\nx-trailer: 1\r\n\r\n';
    const result = feed(split(whole));
    assert.ok(result && !("code" in result));
    assert.equal(result.response.status, 403);
    assert.equal(result.response.headers["x-amzn-errortype"], "ForbiddenException");
    assert.equal(text(result.response.body), '{"message":"Forbidden"}');
    assert.equal(result.rest.length, 0);
  });

  it("reads a body delimited by the end of the connection when the server says it closes", () => {
    const reader = createResponseReader();
    assert.equal(reader.feed(bytes("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n{\"message\":")), undefined);
    assert.equal(reader.feed(bytes("\"OK\"}")), undefined);
    const ended = reader.end();
    assert.ok(!("code" in ended));
    assert.equal(text(ended.response.body), '{"message":"OK"}');
  });

  it("holds a body delimited by the end of the connection to the bound, when fed and when the connection ends", () => {
    const reader = createResponseReader(10);
    const fed = reader.feed(bytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + "a".repeat(11)));
    assert.equal(fed && "code" in fed ? fed.code : undefined, "http-response-too-large");
    const ended = reader.end();
    assert.equal("code" in ended ? ended.code : undefined, "http-response-too-large");
  });

  const refusals: [string, string[], string, RegExp][] = [
    ["both Content-Length and chunked", ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"], "http-malformed-response", /both Content-Length and chunked/],
    ["a transfer coding other than chunked", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"], "http-malformed-response", /transfer coding "gzip"/],
    ["a Content-Length that is not a number", ["HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n"], "http-malformed-response", /Content-Length "1e3"/],
    ["a chunk size that is not hexadecimal", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "http-malformed-response", /chunk size "zz"/],
    ["a chunk not followed by CRLF", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}}\r\n"], "http-malformed-response", /chunk not followed by CRLF/],
    ["no length on a connection that stays open", ["HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"], "http-malformed-response", /no Content-Length, no chunked body/],
    ["something that is not HTTP", ["SSH-2.0-OpenSSH\r\n\r\n"], "http-malformed-response", /no HTTP\/1.x status line/],
    ["a declared body over the bound", ["HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"], "http-response-too-large", /over 4096 bytes/],
    ["chunks adding up to more than the bound", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + "a".repeat(2048) + "\r\n800\r\n" + "a".repeat(2048) + "\r\n1\r\na\r\n"], "http-response-too-large", /over 4096 bytes/],
  ];
  for (const [what, chunks, code, message] of refusals) {
    it(`refuses ${what} (${code})`, () => {
      const result = feed(chunks);
      assert.ok(result && "code" in result, `got ${JSON.stringify(result)}`);
      assert.equal(result.code, code);
      assert.match(result.message, message);
    });
  }

  it("names a response cut off by the end of the connection (http-response-truncated)", () => {
    const reader = createResponseReader();
    assert.equal(reader.feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")), undefined);
    const ended = reader.end();
    assert.ok("code" in ended);
    assert.equal(ended.code, "http-response-truncated");
  });
});

function memoryStorage(): Storage & { values: Map<string, string | Uint8Array> } {
  const values = new Map<string, string | Uint8Array>();
  return { values, get: (k) => values.get(k), set: (k, v) => void values.set(k, v), remove: (k) => void values.delete(k) };
}

describe("HTTPS publish: the post queue in Preference", () => {
  it("keeps every reading until a 200 answers it, across a reload (a sleep or a reboot)", () => {
    const storage = memoryStorage();
    const problems: string[] = [];
    const before = loadPostQueue(storage, 100, (p) => problems.push(p));
    for (let i = 0; i < 10; i++) before.push(1000 + i, { temperature: 20 + i });
    const after = loadPostQueue(storage, 100, (p) => problems.push(p));
    assert.equal(after.length, 10);
    assert.deepEqual(after.first(), { seq: 1, ts: 1000, readings: { temperature: 20 } });
    after.answered(0);
    assert.equal(loadPostQueue(storage, 100, () => undefined).first()?.seq, 2);
    assert.equal(after.push(2000, { temperature: 1 }).seq, 11, "sequence numbers go on after a reload");
    assert.deepEqual(problems, []);
  });

  it("past its bound drops the oldest reading and counts it until a message reports it", () => {
    const storage = memoryStorage();
    const queue = loadPostQueue(storage, 3, () => undefined);
    for (let i = 0; i < 5; i++) queue.push(i, { t: i });
    assert.equal(queue.length, 3);
    assert.equal(queue.first()?.seq, 3);
    assert.equal(queue.dropped, 2);
    queue.answered(2);
    assert.equal(queue.dropped, 0);
  });

  it("never writes a Preference value over 4,000 bytes (ESP32 NVS): the oldest go first, counted", () => {
    const storage = memoryStorage();
    const queue = loadPostQueue(storage, 10_000, () => undefined);
    for (let i = 0; i < 200; i++) queue.push(1_700_000_000_000 + i, { temperature: 21.25, humidity: 45.5 });
    assert.ok(String(storage.values.get(POST_QUEUE_KEY)).length <= PREFERENCE_VALUE_BYTES);
    assert.equal(queue.length + queue.dropped, 200);
  });

  it("reports a value that is not a post queue and starts empty", () => {
    const storage = memoryStorage();
    storage.set(POST_QUEUE_KEY, "{not json");
    const problems: string[] = [];
    assert.equal(loadPostQueue(storage, 10, (p) => problems.push(p)).length, 0);
    assert.match(problems[0]!, /Preference "postq" is not a post queue/);
  });
});

describe("HTTPS publish: the SigV4-signed request", () => {
  const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
  const now = Date.UTC(2026, 10, 29, 12, 0, 0);
  const body = bytes('{"thing":"dev1","seq":1,"ts":1,"readings":{"t":1}}');
  const host = "abc-ats.iot.us-east-1.amazonaws.com";

  it("puts the whole topic in one path segment (its slashes percent-encoded)", () => {
    assert.equal(topicPath("dev1/telemetry"), "/topics/dev1%2Ftelemetry");
  });

  it("signs as @smithy/signature-v4 does for service iotdata (the path encoded twice in the canonical URI)", async () => {
    const headers = signPost(nodeCrypto, { path: topicPath("dev1/telemetry"), query: "qos=1", host, region: "us-east-1", body, credentials, now });
    const signer = new SignatureV4({ service: "iotdata", region: "us-east-1", sha256: Sha256, credentials, applyChecksum: false });
    const signed = await signer.sign({ method: "POST", protocol: "https:", hostname: host, path: "/topics/dev1%2Ftelemetry", query: { qos: "1" }, headers: { host }, body }, { signingDate: new Date(now) });
    const ours = Object.fromEntries(headers);
    assert.equal(ours["X-Amz-Date"], signed.headers["x-amz-date"]);
    assert.equal(ours["Authorization"], signed.headers["authorization"]);
    assert.match(ours["Authorization"]!, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261129\/us-east-1\/iotdata\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  it("is accepted by the stand-in's verifier, and refused with one byte of the body changed", async () => {
    const path = topicPath("dev1/telemetry");
    const headers = Object.fromEntries(signPost(nodeCrypto, { path, query: "qos=1", host, region: "us-east-1", body, credentials, now }).map(([k, v]) => [k.toLowerCase(), v]));
    const request = { method: "POST", rawPath: path, query: [["qos", "1"]] as [string, string][], headers: { ...headers, host }, body: Buffer.from(body) };
    const key = { ...credentials, principal: "dev1", policyDocuments: [] };
    const options = { regions: ["us-east-1"], services: ["iotdata"], nowMs: now, lookup: (id: string) => (id === credentials.accessKeyId ? key : undefined) };
    assert.equal((await verifySignedRequest(request, options)).ok, true);
    const tampered = Buffer.from(body);
    tampered[10] ^= 1;
    const refused = await verifySignedRequest({ ...request, body: tampered }, options);
    assert.ok(!refused.ok);
    assert.equal(refused.failure.code, "InvalidSignatureException");
  });

  it("a publish head carries the mode's headers, the length, keep-alive and qos=1", () => {
    const link: HttpsLink = { open: () => ({ write: () => undefined, close: () => undefined }), host, authorize: () => ({ query: "a=1", headers: [["x-test", "yes"]] }) };
    const head = text(publishHead(link, "dev1/telemetry", body));
    assert.equal(head, `POST /topics/dev1%2Ftelemetry?qos=1&a=1 HTTP/1.1\r\nHost: ${host}\r\nx-test: yes\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`);
  });
});

import assert from "node:assert/strict";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { verifyPresignedUrl, type PresignedRequest } from "../../host/iotcore/auth/sigv4.js";
import type { AccessKey as KnownCredentials } from "../../host/iotcore/service.js";

const HOST = "abc123-ats.iot.us-east-1.amazonaws.com";
const SIGNED_AT = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
const permanent: KnownCredentials = {
  accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  principal: "user/tester", policyDocuments: [],
};
const temporary: KnownCredentials = {
  accessKeyId: "ASIATEMP", secretAccessKey: "tmpSecret/with+chars=", sessionToken: "IQoJb3JpZ2luX2VjE+token/with=chars",
  expiresAtMs: SIGNED_AT.getTime() + 3600_000, principal: "us-east-1:identity", policyDocuments: [],
};

function lookup(id: string) {
  return [permanent, temporary].find((c) => c.accessKeyId === id);
}

interface PresignOptions {
  credentials?: KnownCredentials; region?: string; service?: string; expiresIn?: number;
  tokenInsideSignature?: boolean; extraHeaders?: Record<string, string>;
}

/** Presigns `GET /mqtt` with @smithy/signature-v4 and returns what the server would receive. */
async function presign(options: PresignOptions = {}): Promise<PresignedRequest> {
  const c = options.credentials ?? permanent;
  const signer = new SignatureV4({
    service: options.service ?? "iotdevicegateway", region: options.region ?? "us-east-1", sha256: Sha256,
    credentials: {
      accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey,
      ...(options.tokenInsideSignature && c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    },
  });
  const headers = { host: HOST, ...options.extraHeaders };
  const signed = await signer.presign(
    { method: "GET", protocol: "wss:", hostname: HOST, path: "/mqtt", headers, query: {} },
    { signingDate: SIGNED_AT, ...(options.expiresIn ? { expiresIn: options.expiresIn } : {}) },
  );
  let url = "/mqtt?" + Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&");
  if (!options.tokenInsideSignature && c.sessionToken) url += `&X-Amz-Security-Token=${encodeURIComponent(c.sessionToken)}`;
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method: "GET", url, headers: { ...lower, upgrade: "websocket", "sec-websocket-protocol": "mqtt" } };
}

const verify = (request: PresignedRequest, nowMs = SIGNED_AT.getTime() + 1000, region = "us-east-1") =>
  verifyPresignedUrl(request, { region, nowMs, lookup });

describe("SigV4 presigned WebSocket URL verification", () => {
  it("accepts a URL presigned by @smithy/signature-v4 for iotdevicegateway", async () => {
    const result = await verify(await presign({ expiresIn: 300 }));
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.value.principal, "user/tester");
  });

  it("accepts temporary credentials with the session token appended after the signature", async () => {
    const request = await presign({ credentials: temporary });
    assert.match(request.url, /X-Amz-Signature=[0-9a-f]{64}&X-Amz-Security-Token=/);
    assert.equal((await verify(request)).ok, true);
  });

  it("accepts a presigner that put the session token inside the signed query", async () => {
    assert.equal((await verify(await presign({ credentials: temporary, tokenInsideSignature: true }))).ok, true);
  });

  it("canonicalises every header that X-Amz-SignedHeaders lists", async () => {
    const request = await presign({ extraHeaders: { "x-custom": "a   b" } });
    assert.match(request.url, /X-Amz-SignedHeaders=host%3Bx-custom/);
    assert.equal((await verify(request)).ok, true);
    const result = await verify({ ...request, headers: { ...request.headers, "x-custom": "other" } });
    assert.equal(!result.ok && result.failure.code, "sigv4-signature-mismatch");
  });

  it("refuses temporary credentials without their session token", async () => {
    const request = await presign({ credentials: temporary });
    const stripped = { ...request, url: request.url.replace(/&X-Amz-Security-Token=.*$/, "") };
    const result = await verify(stripped);
    assert.equal(!result.ok && result.failure.code, "sigv4-token-mismatch");
  });

  it("refuses temporary credentials after they expire", async () => {
    const result = await verify(await presign({ credentials: temporary, expiresIn: 86400 }), temporary.expiresAtMs! + 1);
    assert.equal(!result.ok && result.failure.code, "sigv4-credentials-expired");
  });

  it("refuses a URL used after X-Amz-Expires", async () => {
    const request = await presign({ expiresIn: 60 });
    assert.equal((await verify(request, SIGNED_AT.getTime() + 59_000)).ok, true);
    const result = await verify(request, SIGNED_AT.getTime() + 61_000);
    assert.equal(!result.ok && result.failure.code, "sigv4-expired");
  });

  it("refuses a date far in the future (device clock not set)", async () => {
    const result = await verify(await presign(), SIGNED_AT.getTime() - 3600_000);
    assert.equal(!result.ok && result.failure.code, "sigv4-date-skew");
  });

  it("refuses a URL signed for another region or service", async () => {
    const other = await verify(await presign({ region: "eu-west-1" }));
    assert.equal(!other.ok && other.failure.code, "sigv4-scope-mismatch");
    const service = await verify(await presign({ service: "iot" }));
    assert.equal(!service.ok && service.failure.code, "sigv4-scope-mismatch");
  });

  it("refuses a URL whose region was edited after signing", async () => {
    const request = await presign();
    const edited = { ...request, url: request.url.replace("us-east-1", "eu-west-1") };
    const result = await verify(edited, SIGNED_AT.getTime() + 1000, "eu-west-1");
    assert.equal(!result.ok && result.failure.code, "sigv4-signature-mismatch");
  });

  it("refuses a signature made with the wrong secret and an unknown access key", async () => {
    const wrong = await verify(await presign({ credentials: { ...permanent, secretAccessKey: "nope" } }));
    assert.equal(!wrong.ok && wrong.failure.code, "sigv4-signature-mismatch");
    const unknown = await verify(await presign({ credentials: { ...permanent, accessKeyId: "AKIDUNKNOWN" } }));
    assert.equal(!unknown.ok && unknown.failure.code, "sigv4-unknown-key");
  });

  it("refuses a request without the SigV4 query parameters", async () => {
    const result = await verify({ method: "GET", url: "/mqtt", headers: { host: HOST } });
    assert.equal(!result.ok && result.failure.code, "sigv4-malformed");
  });
});

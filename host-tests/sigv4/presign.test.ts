import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { presignPath } from "../../firmware/sigv4/presign.js";
import { amzDate } from "../../firmware/sigv4/sign.js";
import type { Crypto } from "../../firmware/platform/seam.js";

const crypto: Crypto = {
  sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
  sha1: (data) => new Uint8Array(createHash("sha1").update(data).digest()),
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
};

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

/** The query string @smithy/signature-v4 produces for the same request, as a map. */
async function oracle(host: string, region: string, now: number, expiresIn: number, sessionToken?: string) {
  const signer = new SignatureV4({ credentials: { ...credentials, sessionToken }, region, service: "iotdevicegateway", sha256: Sha256 });
  const signed = await signer.presign(
    { method: "GET", protocol: "wss:", hostname: host.split(":")[0], path: "/mqtt", headers: { host }, query: {} },
    { signingDate: new Date(now), expiresIn },
  );
  return signed.query as Record<string, string>;
}

function parse(path: string): { path: string; params: [string, string][] } {
  const [p, q] = path.split("?");
  return { path: p, params: q.split("&").map((kv) => kv.split("=").map(decodeURIComponent) as [string, string]) };
}

describe("SigV4 presigning of the MQTT WebSocket URL", () => {
  const now = Date.UTC(2024, 4, 17, 9, 3, 7, 456);

  it("formats the signing time as a basic ISO 8601 UTC timestamp without milliseconds", () => {
    assert.equal(amzDate(now), "20240517T090307Z");
  });

  for (const [host, region] of [
    ["abc123-ats.iot.us-east-1.amazonaws.com", "us-east-1"],
    ["iot.example.com:8443", "ap-northeast-1"],
  ]) {
    it(`signs exactly as @smithy/signature-v4 does for host ${host} in ${region}`, async () => {
      const ours = parse(presignPath(crypto, { host, region, credentials, now, expiresSeconds: 900 }));
      const expected = await oracle(host, region, now, 900);
      assert.equal(ours.path, "/mqtt");
      assert.deepEqual(Object.fromEntries(ours.params), expected);
    });
  }

  it("appends the session token after the signature, outside what is signed", async () => {
    const sessionToken = "FwoGZXIvYXdzEJr//////////wEaDH+token/with=odd&chars";
    const host = "abc123-ats.iot.us-east-1.amazonaws.com";
    const withToken = presignPath(crypto, { host, region: "us-east-1", credentials: { ...credentials, sessionToken }, now, expiresSeconds: 60 });
    const { params } = parse(withToken);
    const names = params.map(([k]) => k);
    assert.deepEqual(names.slice(-2), ["X-Amz-Signature", "X-Amz-Security-Token"]);
    assert.equal(params[params.length - 1][1], sessionToken);
    assert.ok(withToken.endsWith("&X-Amz-Security-Token=" + encodeURIComponent(sessionToken).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())));
    const unsigned = await oracle(host, "us-east-1", now, 60);
    assert.equal(Object.fromEntries(params)["X-Amz-Signature"], unsigned["X-Amz-Signature"]);
  });

  it("omits X-Amz-Expires when no lifetime is asked for and still signs the rest correctly", () => {
    const url = presignPath(crypto, { host: "h.example", region: "eu-west-1", credentials, now });
    assert.ok(!url.includes("X-Amz-Expires"));
    // Independent check of the signing key chain and string to sign.
    const { params } = parse(url);
    const q = params.filter(([k]) => k !== "X-Amz-Signature").map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    const canonical = `GET\n/mqtt\n${q}\nhost:h.example\n\nhost\n${createHash("sha256").update("").digest("hex")}`;
    const scope = "20240517/eu-west-1/iotdevicegateway/aws4_request";
    const sts = `AWS4-HMAC-SHA256\n20240517T090307Z\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`;
    let key: Buffer = Buffer.from("AWS4" + credentials.secretAccessKey);
    for (const part of scope.split("/")) key = createHmac("sha256", key).update(part).digest();
    assert.equal(Object.fromEntries(params)["X-Amz-Signature"], createHmac("sha256", key).update(sts).digest("hex"));
  });
});

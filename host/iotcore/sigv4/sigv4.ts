// AWS Signature Version 4 verification for the stand-in (control plane `Authorization`
// header; the canonicalisation helpers serve presigned URLs too). Clock passed in.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type SecretLookup = (accessKeyId: string) => string | undefined;

export interface SignedRequest {
  method: string;
  rawPath: string;                                   // as sent, percent-encoded
  query: [string, string][];                         // decoded pairs, as sent
  headers: Record<string, string | string[] | undefined>;  // lowercase names
  body: Buffer | string;
}

export type Verification = { ok: true; accessKeyId: string; region: string; service: string } | { ok: false; reason: string };

/** RFC 3986 encoding as SigV4 wants it. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Each already-encoded path segment encoded once more (every service but S3). */
export function canonicalUri(rawPath: string): string {
  return rawPath.split("/").map((segment) => uriEncode(segment)).join("/") || "/";
}

export function canonicalQuery(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join("&");
}

export function canonicalHeaders(headers: SignedRequest["headers"], signedHeaders: string[]): string {
  return signedHeaders.map((name) => {
    const value = headers[name];
    const text = (Array.isArray(value) ? value.join(",") : value ?? "").trim().replace(/\s+/g, " ");
    return `${name}:${text}\n`;
  }).join("");
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac("sha256", `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  return createHmac("sha256", kService).update("aws4_request").digest();
}

/** `YYYYMMDDTHHMMSSZ` to epoch ms; NaN when malformed. */
export function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

/** Compares two hex signatures in constant time. */
export function signaturesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8"), right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Verifies an `Authorization: AWS4-HMAC-SHA256 ...` request. On failure: which part is wrong
 * (unknown key, malformed header, date skew over 15 minutes, signature mismatch).
 */
export function verifyAuthorizationHeader(request: SignedRequest, secrets: SecretLookup, nowMs: number): Verification {
  const header = String(request.headers["authorization"] ?? "");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header);
  if (!m) return { ok: false, reason: "missing or malformed Authorization header" };
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = m;
  const secret = secrets(accessKeyId);
  if (!secret) return { ok: false, reason: `unknown access key ${accessKeyId}` };
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  const time = parseAmzDate(amzDate);
  if (Number.isNaN(time) || !amzDate.startsWith(date)) return { ok: false, reason: "missing or inconsistent X-Amz-Date" };
  if (Math.abs(nowMs - time) > 15 * 60 * 1000) return { ok: false, reason: "request date is more than 15 minutes from the server's clock" };
  const signedHeaders = signedHeaderList.split(";");
  const payloadHash = String(request.headers["x-amz-content-sha256"] ?? sha256Hex(request.body));
  const canonical = [
    request.method, canonicalUri(request.rawPath), canonicalQuery(request.query),
    canonicalHeaders(request.headers, signedHeaders), signedHeaderList, payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const expected = createHmac("sha256", signingKey(secret, date, region, service)).update(stringToSign).digest("hex");
  if (!signaturesEqual(expected, signature)) return { ok: false, reason: "signature does not match" };
  return { ok: true, accessKeyId, region, service };
}

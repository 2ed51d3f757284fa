// Verifies SigV4 presigned URLs the way the AWS IoT device gateway does for MQTT over
// WebSocket (`GET /mqtt?X-Amz-Algorithm=...`). Pure: the clock and the credential lookup are
// passed in, so tests drive time and keys.
//
// Facts this follows (docs/aws-iot-core.md#sigv4-over-websocket): service `iotdevicegateway`; the canonical headers
// are whatever `X-Amz-SignedHeaders` lists; the session token is appended after the
// signature and is not part of the signed query (clients that sign it anyway are accepted
// too, as generic SigV4 presigners do that).

import { createHmac } from "node:crypto";
import { fail, ok, type Result } from "../../../firmware/platform/failure.js";
import { canonicalHeaders, canonicalQuery, canonicalUri, parseAmzDate, sha256Hex, signaturesEqual, signingKey } from "../sigv4/sigv4.js";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
export const IOT_DATA_SERVICE = "iotdevicegateway";
const EMPTY_BODY_SHA256 = sha256Hex("");
const MAX_EXPIRES_SECONDS = 604800;

/** What the stand-in knows about an access key. */
export interface KnownCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials carry a token the request must present. */
  sessionToken?: string;
  /** Epoch ms after which the credentials are refused. */
  expiresAtMs?: number;
  /** Opaque to the verifier: who these credentials belong to (identity id, user name). */
  principal: string;
  policyDocuments: string[];
}

export interface PresignedRequest {
  method: string;
  /** Path and query exactly as received, e.g. `/mqtt?X-Amz-Algorithm=...`. */
  url: string;
  /** Lower-case header names, as node's IncomingMessage.headers gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** A request with a body (HTTPS publish): its hash, or UNSIGNED-PAYLOAD, is what was signed. */
  body?: Buffer;
}

export interface VerifyOptions {
  region: string;
  service?: string;
  nowMs: number;
  /** Accepted distance between X-Amz-Date and now, both ways. Default 300 s. */
  maxSkewSeconds?: number;
  lookup(accessKeyId: string): KnownCredentials | undefined;
}


/**
 * Returns the credentials that signed the URL, or a Failure with code sigv4-malformed,
 * sigv4-scope-mismatch, sigv4-date-skew, sigv4-expired, sigv4-unknown-key,
 * sigv4-token-mismatch, sigv4-credentials-expired or sigv4-signature-mismatch.
 */
export function verifyPresignedUrl(request: PresignedRequest, options: VerifyOptions): Result<KnownCredentials> {
  const { path, pairs } = splitUrl(request.url);
  const param = (key: string) => pairs.find(([k]) => k === key)?.[1];
  const algorithm = param("X-Amz-Algorithm");
  const credential = param("X-Amz-Credential");
  const amzDate = param("X-Amz-Date");
  const signedHeaders = param("X-Amz-SignedHeaders");
  const signature = param("X-Amz-Signature");
  if (algorithm !== SIGV4_ALGORITHM || !credential || !amzDate || !signedHeaders || !signature) {
    return fail("sigv4-malformed", "presigned URL lacks X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders or X-Amz-Signature: presign the URL with SigV4");
  }
  const scope = parseScope(credential);
  const signedAtMs = parseAmzDate(amzDate);
  if (!scope || Number.isNaN(signedAtMs)) {
    return fail("sigv4-malformed", `X-Amz-Credential '${credential}' or X-Amz-Date '${amzDate}' is not in SigV4 form (AKID/yyyymmdd/region/service/aws4_request, yyyymmddThhmmssZ)`);
  }
  const service = options.service ?? IOT_DATA_SERVICE;
  if (scope.date !== amzDate.slice(0, 8) || scope.region !== options.region || scope.service !== service || scope.terminator !== "aws4_request") {
    return fail("sigv4-scope-mismatch", `credential scope ${scope.date}/${scope.region}/${scope.service}/${scope.terminator} does not match ${amzDate.slice(0, 8)}/${options.region}/${service}/aws4_request: sign for this region and service '${service}'`);
  }
  const timing = checkTiming(signedAtMs, param("X-Amz-Expires"), options);
  if (!timing.ok) return timing;
  const known = options.lookup(scope.accessKeyId);
  if (!known) return fail("sigv4-unknown-key", `access key ${scope.accessKeyId} is not known to this endpoint: use credentials it issued`);
  if (known.sessionToken !== undefined && param("X-Amz-Security-Token") !== known.sessionToken) {
    return fail("sigv4-token-mismatch", `access key ${scope.accessKeyId} is temporary: append its session token as X-Amz-Security-Token`);
  }
  if (known.expiresAtMs !== undefined && options.nowMs >= known.expiresAtMs) {
    return fail("sigv4-credentials-expired", `temporary credentials ${scope.accessKeyId} expired at ${new Date(known.expiresAtMs).toISOString()}: fetch new ones`);
  }
  const headerNames = signedHeaders.toLowerCase().split(";");
  const absent = headerNames.find((name) => request.headers[name] === undefined);
  if (absent) return fail("sigv4-malformed", `X-Amz-SignedHeaders lists '${absent}' but the request has no such header`);
  const key = signingKey(known.secretAccessKey, scope.date, scope.region, scope.service);
  const headers = canonicalHeaders(request.headers, headerNames);
  // First as AWS IoT expects (token outside the signed query), then as generic presigners do.
  const variants = [pairs.filter(([k]) => k !== "X-Amz-Signature" && k !== "X-Amz-Security-Token")];
  if (param("X-Amz-Security-Token") !== undefined) variants.push(pairs.filter(([k]) => k !== "X-Amz-Signature"));
  const payloadHashes = request.body === undefined ? [EMPTY_BODY_SHA256] : [sha256Hex(request.body), "UNSIGNED-PAYLOAD"];
  for (const query of variants) {
    for (const payloadHash of payloadHashes) {
      const canonical = [request.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), headers, signedHeaders, payloadHash].join("\n");
      const stringToSign = [SIGV4_ALGORITHM, amzDate, `${scope.date}/${scope.region}/${scope.service}/aws4_request`, sha256Hex(canonical)].join("\n");
      if (signaturesEqual(createHmac("sha256", key).update(stringToSign).digest("hex"), signature.toLowerCase())) return ok(known);
    }
  }
  return fail("sigv4-signature-mismatch", `signature does not match for access key ${scope.accessKeyId}: sign ${request.method.toUpperCase()} ${path} with host and the listed headers, without the session token`);
}

function checkTiming(signedAtMs: number, expires: string | undefined, options: VerifyOptions): Result<true> {
  const skewMs = (options.maxSkewSeconds ?? 300) * 1000;
  if (signedAtMs - skewMs > options.nowMs) {
    return fail("sigv4-date-skew", `X-Amz-Date is ${Math.round((signedAtMs - options.nowMs) / 1000)} s in the future: set the device clock (SNTP) before signing`);
  }
  let lifetimeMs = skewMs;
  if (expires !== undefined) {
    const seconds = Number(expires);
    if (!/^\d+$/.test(expires) || seconds < 1 || seconds > MAX_EXPIRES_SECONDS) {
      return fail("sigv4-malformed", `X-Amz-Expires '${expires}' must be 1-${MAX_EXPIRES_SECONDS} seconds`);
    }
    lifetimeMs = seconds * 1000;
  }
  if (options.nowMs > signedAtMs + lifetimeMs) {
    return fail("sigv4-expired", `presigned URL signed at ${new Date(signedAtMs).toISOString()} expired after ${lifetimeMs / 1000} s: presign it again just before connecting`);
  }
  return ok(true);
}

function splitUrl(url: string): { path: string; pairs: [string, string][] } {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q + 1);
  const pairs = query.split("&").filter((s) => s.length > 0).map((s) => {
    const eq = s.indexOf("=");
    return [decodePercent(eq < 0 ? s : s.slice(0, eq)), decodePercent(eq < 0 ? "" : s.slice(eq + 1))] as [string, string];
  });
  return { path, pairs };
}

/** `+` stays a plus: base64 tokens and signatures are sent percent-encoded or raw. */
export function decodePercent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseScope(credential: string) {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts.some((p) => p.length === 0)) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

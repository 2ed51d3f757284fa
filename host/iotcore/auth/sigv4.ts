// SigV4 verification for every request the stand-in authenticates: control-plane calls
// (`Authorization` header) and MQTT-over-WebSocket upgrades (presigned `GET /mqtt?X-Amz-...`).
// The canonical request and signature come from `@smithy/signature-v4` (the AWS SDK's own
// signer): the stand-in re-signs what the client says it signed and compares. The checks AWS
// makes before that are ours: scope (region, service), clock skew, expiry, the key and its
// session token. Clock and key lookup are passed in. Failures carry AWS's error code and
// message (what clients show) and a reason for the stand-in's log (what to change).
//
// Facts (docs/iotcore-compatibility.md): 5 minutes of skew either way; presigned URLs live
// X-Amz-Expires seconds (at most 604,800); AWS IoT's presigned WebSocket URL leaves the session
// token out of the signed query (clients that sign it anyway are accepted too) and hashes an
// empty payload; IoT's data-plane signing name is `iotdevicegateway`.
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { timingSafeEqual } from "node:crypto";
import { fail, ok, type Result } from "../../../firmware/platform/failure.js";
import type { AccessKey } from "../service.js";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
export const IOT_DATA_SERVICE = "iotdevicegateway";
const SKEW_MS = 5 * 60 * 1000;
const MAX_EXPIRES_SECONDS = 604_800;

/** AWS's error codes for refused signatures, and the HTTP status each travels with. */
export type SignatureErrorCode =
  | "MissingAuthenticationTokenException" | "IncompleteSignatureException" | "UnrecognizedClientException"
  | "InvalidSignatureException" | "ExpiredTokenException";

export interface SignatureFailure { code: SignatureErrorCode; message: string; reason: string }

export interface SignedRequest {
  method: string;
  /** Path exactly as received (percent-encoded), without the query. */
  rawPath: string;
  /** Query pairs, decoded. */
  query: [string, string][];
  /** Lower-case header names, as node's IncomingMessage.headers gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array | string;
}

export interface VerifyOptions {
  /** The regions a signature may be scoped to (the stand-in's; a global service adds us-east-1). */
  regions: readonly string[];
  /**
   * The signing names the request may be scoped to, AWS's current one first (`iot`, `acm`...);
   * more than one where clients still use an older name (IoT's models said `execute-api`).
   */
  services: readonly string[];
  nowMs: number;
  lookup(accessKeyId: string): AccessKey | undefined;
}

export type Verified = { key: AccessKey; region: string; service: string };

const refuse = (code: SignatureErrorCode, message: string, reason: string): { ok: false; failure: SignatureFailure } =>
  ({ ok: false, failure: { code, message, reason } });

const INVALID_TOKEN = "The security token included in the request is invalid.";
const MISMATCH = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** The service (signing name) an Authorization header is scoped to, if it has one. */
export function scopedService(headers: SignedRequest["headers"]): string | undefined {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/,]+)\//.exec(String(headers.authorization ?? ""))?.[1];
}

/** Verifies an `Authorization: AWS4-HMAC-SHA256 ...` request. */
export async function verifySignedRequest(request: SignedRequest, options: VerifyOptions): Promise<{ ok: true; value: Verified } | { ok: false; failure: SignatureFailure }> {
  const header = String(request.headers.authorization ?? "");
  if (header === "") return refuse("MissingAuthenticationTokenException", "Missing Authentication Token", "the request has no Authorization header: sign it with SigV4 (the stand-in's keys are in <state>/aws/credentials)");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/.exec(header);
  if (!m) return refuse("IncompleteSignatureException", `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of AWS4-HMAC-SHA256. Authorization=${header.slice(0, 60)}`, "malformed Authorization header");
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = m as unknown as [string, string, string, string, string, string, string];
  const scope = checkScope(region, service, options);
  if (!scope.ok) return scope;
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  const signedAtMs = parseAmzDate(amzDate);
  if (Number.isNaN(signedAtMs) || !amzDate.startsWith(date)) {
    return refuse("IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got '" + amzDate + "'. See http://en.wikipedia.org/wiki/ISO_8601", "X-Amz-Date is missing or does not match the credential scope's date");
  }
  const skew = checkSkew(signedAtMs, options.nowMs);
  if (!skew.ok) return skew;
  const key = checkKey(accessKeyId, String(request.headers["x-amz-security-token"] ?? "") || undefined, options);
  if (!key.ok) return key;
  const signedHeaders = signedHeaderList.split(";");
  const absent = signedHeaders.find((name) => request.headers[name] === undefined);
  if (absent) return refuse("InvalidSignatureException", MISMATCH, `SignedHeaders lists '${absent}' but the request has no such header`);
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = headerValue(request.headers[name]);
  const expected = await signatureOf(key.value, { method: request.method, path: request.rawPath, query: request.query, headers, body: request.body }, signedAtMs, region, service, new Set(signedHeaders));
  if (!sameHex(expected, signature)) return refuse("InvalidSignatureException", MISMATCH, `signature does not match for access key ${accessKeyId}: the secret is wrong or the request changed after signing`);
  return { ok: true, value: { key: key.value, region, service } };
}

export interface PresignedRequest {
  method: string;
  /** Path and query exactly as received, e.g. `/mqtt?X-Amz-Algorithm=...`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** A request with a body (HTTPS publish): its hash, or UNSIGNED-PAYLOAD, is what was signed. */
  body?: Buffer;
}

/**
 * Verifies a presigned URL as AWS IoT's device gateway does for MQTT over WebSocket. Failure
 * codes (as `code` of firmware's Failure): sigv4-malformed, sigv4-scope-mismatch,
 * sigv4-date-skew, sigv4-expired, sigv4-unknown-key, sigv4-token-mismatch,
 * sigv4-credentials-expired, sigv4-signature-mismatch.
 */
export async function verifyPresignedUrl(request: PresignedRequest, options: Omit<VerifyOptions, "services" | "regions"> & { region: string; service?: string }): Promise<Result<AccessKey>> {
  const { path, pairs } = splitUrl(request.url);
  const param = (key: string) => pairs.find(([k]) => k === key)?.[1];
  const credential = param("X-Amz-Credential");
  const amzDate = param("X-Amz-Date");
  const signedHeaders = param("X-Amz-SignedHeaders");
  const signature = param("X-Amz-Signature");
  if (param("X-Amz-Algorithm") !== SIGV4_ALGORITHM || !credential || !amzDate || !signedHeaders || !signature) {
    return fail("sigv4-malformed", "presigned URL lacks X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders or X-Amz-Signature: presign the URL with SigV4");
  }
  const parts = credential.split("/");
  const signedAtMs = parseAmzDate(amzDate);
  if (parts.length !== 5 || parts.some((p) => p === "") || Number.isNaN(signedAtMs)) {
    return fail("sigv4-malformed", `X-Amz-Credential '${credential}' or X-Amz-Date '${amzDate}' is not in SigV4 form (AKID/yyyymmdd/region/service/aws4_request, yyyymmddThhmmssZ)`);
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  const wanted = options.service ?? IOT_DATA_SERVICE;
  if (date !== amzDate.slice(0, 8) || region !== options.region || service !== wanted || terminator !== "aws4_request") {
    return fail("sigv4-scope-mismatch", `credential scope ${date}/${region}/${service}/${terminator} does not match ${amzDate.slice(0, 8)}/${options.region}/${wanted}/aws4_request: sign for this region and service '${wanted}'`);
  }
  if (signedAtMs - SKEW_MS > options.nowMs) {
    return fail("sigv4-date-skew", `X-Amz-Date is ${Math.round((signedAtMs - options.nowMs) / 1000)} s in the future: set the device clock (SNTP) before signing`);
  }
  const expires = param("X-Amz-Expires");
  let lifetimeMs = SKEW_MS;
  if (expires !== undefined) {
    const seconds = Number(expires);
    if (!/^\d+$/.test(expires) || seconds < 1 || seconds > MAX_EXPIRES_SECONDS) return fail("sigv4-malformed", `X-Amz-Expires '${expires}' must be 1-${MAX_EXPIRES_SECONDS} seconds`);
    lifetimeMs = seconds * 1000;
  }
  if (options.nowMs > signedAtMs + lifetimeMs) {
    return fail("sigv4-expired", `presigned URL signed at ${new Date(signedAtMs).toISOString()} expired after ${lifetimeMs / 1000} s: presign it again just before connecting`);
  }
  const known = options.lookup(accessKeyId);
  if (!known) return fail("sigv4-unknown-key", `access key ${accessKeyId} is not known to this endpoint: use credentials it issued`);
  const token = param("X-Amz-Security-Token");
  if (known.sessionToken !== undefined && token !== known.sessionToken) {
    return fail("sigv4-token-mismatch", `access key ${accessKeyId} is temporary: append its session token as X-Amz-Security-Token`);
  }
  if (known.expiresAtMs !== undefined && options.nowMs >= known.expiresAtMs) {
    return fail("sigv4-credentials-expired", `temporary credentials ${accessKeyId} expired at ${new Date(known.expiresAtMs).toISOString()}: fetch new ones`);
  }
  const headerNames = signedHeaders.toLowerCase().split(";");
  const absent = headerNames.find((name) => request.headers[name] === undefined);
  if (absent) return fail("sigv4-malformed", `X-Amz-SignedHeaders lists '${absent}' but the request has no such header`);
  const headers: Record<string, string> = {};
  for (const name of headerNames) headers[name] = headerValue(request.headers[name]);
  // As AWS IoT expects (token outside the signed query) first, then as generic presigners do.
  const variants = [pairs.filter(([k]) => k !== "X-Amz-Signature" && k !== "X-Amz-Security-Token")];
  if (token !== undefined) variants.push(pairs.filter(([k]) => k !== "X-Amz-Signature"));
  const payloads: { body: Uint8Array | string; payloadHash?: string }[] = request.body === undefined
    ? [{ body: "" }] : [{ body: request.body }, { body: request.body, payloadHash: "UNSIGNED-PAYLOAD" }];
  for (const query of variants) {
    for (const payload of payloads) {
      const expected = await signatureOf(known, { method: request.method.toUpperCase(), path, query, headers, ...payload }, signedAtMs, region, service, new Set(headerNames));
      if (sameHex(expected, signature)) return ok(known);
    }
  }
  return fail("sigv4-signature-mismatch", `signature does not match for access key ${accessKeyId}: sign ${request.method.toUpperCase()} ${path} with host and the listed headers, without the session token`);
}

/** `YYYYMMDDTHHMMSSZ` to epoch ms; NaN when malformed. */
export function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

/** `+` stays a plus: base64 tokens and signatures are sent percent-encoded or raw. */
export function decodePercent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function checkScope(region: string, service: string, options: VerifyOptions): { ok: true } | { ok: false; failure: SignatureFailure } {
  if (!options.regions.includes(region)) {
    return refuse("InvalidSignatureException", `Credential should be scoped to a valid region, not '${region}'. `,
      `signed for region '${region}' but this stand-in serves '${options.regions[0]}': run the command with --region ${options.regions[0]} (or set AWS_REGION / the profile's region)`);
  }
  if (!options.services.includes(service)) {
    return refuse("InvalidSignatureException", `Credential should be scoped to correct service: '${options.services[0]}'. `, `signed for service '${service}' but the request is for '${options.services[0]}'`);
  }
  return { ok: true };
}

function checkSkew(signedAtMs: number, nowMs: number): { ok: true } | { ok: false; failure: SignatureFailure } {
  const now = amzDate(nowMs);
  if (signedAtMs < nowMs - SKEW_MS) {
    return refuse("InvalidSignatureException", `Signature expired: ${amzDate(signedAtMs)} is now earlier than ${amzDate(nowMs - SKEW_MS)} (${now} - 5 min.)`, "the request was signed more than 5 minutes ago: check the client's clock");
  }
  if (signedAtMs > nowMs + SKEW_MS) {
    return refuse("InvalidSignatureException", `Signature not yet current: ${amzDate(signedAtMs)} is still later than ${amzDate(nowMs + SKEW_MS)} (${now} + 5 min.)`, "the request is signed more than 5 minutes in the future: check the client's clock");
  }
  return { ok: true };
}

function checkKey(accessKeyId: string, token: string | undefined, options: VerifyOptions): { ok: true; value: AccessKey } | { ok: false; failure: SignatureFailure } {
  const key = options.lookup(accessKeyId);
  if (!key) return refuse("UnrecognizedClientException", INVALID_TOKEN, `access key ${accessKeyId} is unknown: use the keys in <state>/aws/credentials or ones the stand-in issued`);
  if (key.sessionToken !== undefined && token !== key.sessionToken) {
    return refuse("UnrecognizedClientException", INVALID_TOKEN, `access key ${accessKeyId} is temporary and the request's X-Amz-Security-Token is not its session token`);
  }
  if (key.expiresAtMs !== undefined && options.nowMs >= key.expiresAtMs) {
    return refuse("ExpiredTokenException", "The security token included in the request is expired", `temporary credentials ${accessKeyId} expired at ${new Date(key.expiresAtMs).toISOString()}: fetch new ones`);
  }
  return { ok: true, value: key };
}

/** The signature @smithy/signature-v4 makes for the request with this key, scope and time. */
async function signatureOf(
  key: AccessKey, request: { method: string; path: string; query: [string, string][]; headers: Record<string, string>; body: Uint8Array | string; payloadHash?: string },
  signedAtMs: number, region: string, service: string, signedHeaders: Set<string>,
): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }, region, service, sha256: Sha256,
    uriEscapePath: true, applyChecksum: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of request.query) {
    const existing = Object.hasOwn(query, k) ? query[k] : undefined;
    query[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
  }
  const host = request.headers.host ?? "localhost";
  // The signer takes a declared payload hash from x-amz-content-sha256; it is signed only if listed.
  const headers = request.payloadHash ? { ...request.headers, "x-amz-content-sha256": request.payloadHash } : { ...request.headers };
  const unsignable = new Set([...["x-amz-date", "x-amz-content-sha256"].filter((name) => !signedHeaders.has(name))]);
  const signed = await signer.sign({
    method: request.method, protocol: "https:", hostname: host, path: request.path, query, headers, body: request.body,
  }, {
    // Presigned URLs do not sign X-Amz-Date as a header (it is in the query).
    signingDate: new Date(signedAtMs), signingRegion: region, signingService: service, signableHeaders: signedHeaders, unsignableHeaders: unsignable,
  });
  return /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? "";
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(",") : value ?? "";
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8"), right = Buffer.from(b.toLowerCase(), "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
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

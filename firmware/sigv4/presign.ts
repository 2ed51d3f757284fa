// SigV4 presigning of the AWS IoT WebSocket URL (`GET /mqtt`, service `iotdevicegateway`).
//
// Pure: the time and the hash functions are passed in, so the same code signs on the device
// (Moddable `crypt`), under Node, and in tests that pin the clock.

import type { Crypto } from "../platform/seam.js";
import { toHex } from "../credentials/der.js";

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials only; appended after the signature, never signed (AWS IoT rule). */
  sessionToken?: string;
  /** Milliseconds since the epoch; absent for long-term keys. */
  expiration?: number;
}

export interface PresignRequest {
  /** The Host header value exactly as the WebSocket handshake sends it (with `:port` if not 443). */
  host: string;
  region: string;
  credentials: SigV4Credentials;
  /** Signing time, milliseconds since the epoch. */
  now: number;
  /** Adds `X-Amz-Expires`; omitted when undefined. */
  expiresSeconds?: number;
}

const SERVICE = "iotdevicegateway";
const PATH = "/mqtt";
const encoder = new TextEncoder();
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** RFC 3986 percent-encoding, as SigV4 wants it (only A-Z a-z 0-9 - _ . ~ left alone). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}


/** `20240102T030405Z` for a time in milliseconds. */
export function amzDate(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * The hex signature of `canonicalRequest` made at `longDate` (`yyyymmddThhmmssZ`) within
 * `scope` (`yyyymmdd/<region>/<service>/aws4_request`). Cannot fail.
 */
export function sign(crypto: Crypto, secretAccessKey: string, longDate: string, scope: string, canonicalRequest: string): string {
  const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${toHex(crypto.sha256(encoder.encode(canonicalRequest)))}`;
  let key: Uint8Array = encoder.encode("AWS4" + secretAccessKey);
  for (const part of scope.split("/")) key = crypto.hmacSha256(key, encoder.encode(part));
  return toHex(crypto.hmacSha256(key, encoder.encode(stringToSign)));
}

/**
 * Returns the path and query to put in the request line, e.g. `/mqtt?X-Amz-Algorithm=...`.
 * Never fails: inputs are validated by the connection config before this is called.
 */
export function presignPath(crypto: Crypto, request: PresignRequest): string {
  const { credentials, region, expiresSeconds } = request;
  const longDate = amzDate(request.now);
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${SERVICE}/aws4_request`;
  // The canonical query, its parameters already in sorted order.
  const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEncode(`${credentials.accessKeyId}/${scope}`)}&X-Amz-Date=${longDate}`
    + (expiresSeconds === undefined ? "" : "&X-Amz-Expires=" + expiresSeconds) + "&X-Amz-SignedHeaders=host";
  const canonicalRequest = `GET\n${PATH}\n${query}\nhost:${request.host.trim()}\n\nhost\n${EMPTY_PAYLOAD_SHA256}`;
  const signature = sign(crypto, credentials.secretAccessKey, longDate, scope, canonicalRequest);
  const token = credentials.sessionToken ? "&X-Amz-Security-Token=" + uriEncode(credentials.sessionToken) : "";
  return `${PATH}?${query}&X-Amz-Signature=${signature}${token}`;
}

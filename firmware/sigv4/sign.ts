// SigV4 signing (AWS Signature Version 4), what every signed request shares: the credentials,
// RFC 3986 encoding, the request time, the signature of a canonical request. presign.ts signs
// the MQTT WebSocket URL with it, header.ts an HTTPS publish's Authorization header.
//
// Pure: the time and the hash functions are passed in.

import type { Crypto } from "../platform/seam.js";
import { toHex } from "../credentials/hex.js";

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials only; appended after the signature, never signed (AWS IoT rule). */
  sessionToken?: string;
  /** Milliseconds since the epoch; absent for long-term keys. */
  expiration?: number;
}

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
  const encoder = new TextEncoder();
  const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${toHex(crypto.sha256(encoder.encode(canonicalRequest)))}`;
  let key: Uint8Array = encoder.encode("AWS4" + secretAccessKey);
  for (const part of scope.split("/")) key = crypto.hmacSha256(key, encoder.encode(part));
  return toHex(crypto.hmacSha256(key, encoder.encode(stringToSign)));
}

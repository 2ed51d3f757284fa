// SigV4 presigning of the AWS IoT WebSocket URL (`GET /mqtt`, service `iotdevicegateway`).
//
// Pure: the time and the hash functions are passed in, so the same code signs on the device
// (Moddable `crypt`), under Node, and in tests that pin the clock. The signing itself is sign.ts.

import type { Crypto } from "../platform/seam.js";
import { amzDate, sign, uriEncode, type SigV4Credentials } from "./sign.js";

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
const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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

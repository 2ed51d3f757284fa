// SigV4 `Authorization` header for an HTTPS publish, signed as `aws iot-data publish` signs it:
// service `iotdata`, signed headers host and x-amz-date (and x-amz-security-token with
// temporary credentials), the body's SHA-256 as the payload hash, the path's encoded topic
// encoded once more in the canonical URI (every service but S3). Pure: time and hashes passed in.

import { toHex } from "../credentials/hex.js";
import type { Crypto } from "../platform/seam.js";
import { amzDate, sign, uriEncode, type SigV4Credentials } from "./sign.js";

export const IOT_DATA_SERVICE = "iotdata";

export interface SignedPost {
  /** Request path as sent, e.g. `/topics/dev1%2Ftelemetry`. */
  path: string;
  /** Canonical query (already sorted and encoded), e.g. `qos=1`. */
  query: string;
  host: string;
  region: string;
  body: Uint8Array;
  credentials: SigV4Credentials;
  /** Signing time, milliseconds since the epoch. */
  now: number;
}

/** The headers to add: X-Amz-Date, X-Amz-Security-Token (temporary credentials), Authorization. Cannot fail. */
export function signPost(crypto: Crypto, request: SignedPost): [string, string][] {
  const { credentials, region } = request;
  const longDate = amzDate(request.now);
  const scope = `${longDate.slice(0, 8)}/${region}/${IOT_DATA_SERVICE}/aws4_request`;
  const token = credentials.sessionToken;
  const signedHeaders = token ? "host;x-amz-date;x-amz-security-token" : "host;x-amz-date";
  const canonicalUri = request.path.split("/").map(uriEncode).join("/");
  const canonicalHeaders = `host:${request.host.trim()}\nx-amz-date:${longDate}\n` + (token ? `x-amz-security-token:${token}\n` : "");
  const canonicalRequest = `POST\n${canonicalUri}\n${request.query}\n${canonicalHeaders}\n${signedHeaders}\n${toHex(crypto.sha256(request.body))}`;
  const signature = sign(crypto, credentials.secretAccessKey, longDate, scope, canonicalRequest);
  const headers: [string, string][] = [["X-Amz-Date", longDate]];
  if (token) headers.push(["X-Amz-Security-Token", token]);
  headers.push(["Authorization", `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`]);
  return headers;
}

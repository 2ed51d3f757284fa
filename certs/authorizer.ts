// Custom-authorizer token signing (docs/aws-iot-core.md#custom-authentication): the device sends a token and its base64
// RSA-SHA256 signature; AWS IoT verifies it with the public key registered on the authorizer.

import { createSign } from "node:crypto";

/** Base64 RSA-SHA256 signature of `token`, as `openssl dgst -sha256 -sign key | base64 -A`. Throws on a bad key. */
export function signToken(token: string, privateKeyPem: string): string {
  return createSign("sha256").update(token, "utf8").sign(privateKeyPem, "base64");
}

// The OTA image checks Moddable's TLS stack already carries: SHA-256 with `crypt`'s Digest, and
// ECDSA with its `ecdsa` and `x509` modules (docs/ota.md, "Code signing").

import ECDSA from "ecdsa";
import X509 from "x509";

export const buffer = (bytes: Uint8Array) => (bytes.buffer as ArrayBuffer).slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);

/** True when `signature` (DER ECDSA) signs `digest` with `certificate`'s EC public key; false for anything it cannot read. */
export function verifySignature(certificate: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = X509.decodeSPKI(buffer(certificate));
    return key.curve !== undefined && new ECDSA(key.pub, key.curve).verify(buffer(digest), buffer(signature), true);
  } catch {
    return false;
  }
}

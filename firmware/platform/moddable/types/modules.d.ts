// Declarations for the Moddable modules this binding uses that the SDK ships no typings for.
// Only modules absent from $MODDABLE/typings are declared here, so nothing clashes with the
// SDK's own declarations when mcconfig compiles. Listed in the manifest's typescript `types`.

declare module "hmac" {
  /** HMAC over a `crypt` Digest (modules/crypt/etc/hmac.js). */
  export default class HMAC {
    constructor(digest: import("crypt").Digest, key: ArrayBuffer, bitLength?: number);
    /** Resets, hashes every item in order and returns the MAC. */
    process(...items: ArrayBuffer[]): ArrayBuffer;
  }
}

declare module "x509" {
  /** A subjectAltName entry: tag 2 is a dNSName (string), tag 7 an iPAddress (bytes). */
  interface SubjectAltName {
    tag: number;
    value: string | ArrayBuffer;
  }
  /** X.509 helpers of Moddable's TLS stack (modules/crypt/etc/x509.js). */
  const X509: {
    decodeSAN(certificate: Uint8Array | ArrayBuffer): SubjectAltName[] | undefined;
  };
  export default X509;
}

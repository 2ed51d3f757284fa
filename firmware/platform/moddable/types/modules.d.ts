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
  /** A certificate's public key (modules/crypt/etc/x509.js decodeSPKI): RSA, or an EC point and its curve (P-256, P-384). */
  interface PublicKey {
    curve?: object;
    pub?: object;
    modulus?: bigint;
    exponent?: bigint;
  }
  const X509: {
    decodeSAN(certificate: Uint8Array | ArrayBuffer): SubjectAltName[] | undefined;
    /** Throws for a malformed certificate or an unnamed curve. */
    decodeSPKI(certificate: ArrayBuffer): PublicKey;
  };
  export default X509;
}

declare module "ecdsa" {
  /** ECDSA of Moddable's TLS stack (modules/crypt/etc/ecdsa.js). */
  export default class ECDSA {
    /** `key` and `curve` as X509.decodeSPKI gives them. */
    constructor(key: object | undefined, curve: object);
    /** True when `signature` signs the digest `hash`; `asn1`: the signature is DER (SEQUENCE of r, s), else r || s. */
    verify(hash: ArrayBuffer, signature: ArrayBuffer, asn1?: boolean): boolean;
  }
}

declare module "ota" {
  /** ESP32 OTA (build/devices/esp32/modules/ota): the app partition that is not running, written in order. Each method throws on an ESP-IDF error. */
  export default class OTA {
    /** esp_ota_begin on the next update partition (sequential writes: erased as it goes). */
    constructor();
    write(bytes: ArrayBuffer): void;
    /** esp_ota_end: abandons the image. */
    cancel(): void;
    /** esp_ota_end (the image is checked) and esp_ota_set_boot_partition. */
    complete(): void;
  }
}

// The few facts the device checks before using its credentials: a certificate's issuer and
// subject (raw DER, compared byte for byte), validity window and RSA public key; a PKCS#8 key's
// algorithm and RSA modulus. Anything else in the DER is skipped, not interpreted.

import {
  BIT_STRING,
  expect,
  GENERALIZED_TIME,
  INTEGER,
  OCTET_STRING,
  OID,
  readTlv,
  SEQUENCE,
  unsignedInteger,
  UTC_TIME,
  type Tlv,
} from "./der.js";

// 1.2.840.113549.1.1.1 rsaEncryption
const RSA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

export interface RsaPublic {
  modulus: Uint8Array;
  exponent: Uint8Array;
}

export interface CertificateFacts {
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: number;
  notAfter: number;
  /** Undefined when the certificate's key is not RSA. */
  rsa?: RsaPublic;
}

/** Facts of a DER certificate; undefined when its structure is not a well-formed X.509 certificate. */
export function parseCertificate(der: Uint8Array): CertificateFacts | undefined {
  const cert = expect(der, 0, der.length, SEQUENCE);
  if (!cert || cert.end !== der.length) return undefined;
  const tbs = expect(der, cert.start, cert.end, SEQUENCE);
  if (!tbs) return undefined;
  const sigAlg = expect(der, tbs.end, cert.end, SEQUENCE);
  const signature = sigAlg && expect(der, sigAlg.end, cert.end, BIT_STRING);
  if (!signature || signature.end !== cert.end) return undefined;

  let serial = readTlv(der, tbs.start, tbs.end);
  if (serial && serial.tag === 0xa0) serial = readTlv(der, serial.end, tbs.end); // explicit version
  if (!serial || serial.tag !== INTEGER) return undefined;
  const algorithm = expect(der, serial.end, tbs.end, SEQUENCE);
  const issuer = algorithm && expect(der, algorithm.end, tbs.end, SEQUENCE);
  const validity = issuer && expect(der, issuer.end, tbs.end, SEQUENCE);
  const subject = validity && expect(der, validity.end, tbs.end, SEQUENCE);
  const spki = subject && expect(der, subject.end, tbs.end, SEQUENCE);
  if (!issuer || !validity || !subject || !spki) return undefined;
  const notBefore = readTime(der, validity.start, validity.end);
  const notAfter = notBefore && readTime(der, notBefore.end, validity.end);
  if (!notBefore || !notAfter) return undefined;
  const rsa = readRsaSpki(der, spki);
  if (rsa === null) return undefined;
  return {
    // whole Name TLVs, header included, so that equal names compare equal byte for byte
    issuer: der.subarray(issuer.at, issuer.end),
    subject: der.subarray(subject.at, subject.end),
    notBefore: notBefore.ms,
    notAfter: notAfter.ms,
    rsa,
  };
}

/** RSA key of a SubjectPublicKeyInfo; undefined for other algorithms, null when malformed. */
function readRsaSpki(der: Uint8Array, spki: Tlv): RsaPublic | undefined | null {
  const algorithm = expect(der, spki.start, spki.end, SEQUENCE);
  const oid = algorithm && expect(der, algorithm.start, algorithm.end, OID);
  const bits = algorithm && expect(der, algorithm.end, spki.end, BIT_STRING);
  if (!oid || !bits || bits.end !== spki.end) return null;
  if (!isRsaOid(der, oid)) return undefined;
  if (der[bits.start] !== 0) return null; // unused-bits count
  return readRsaNumbers(der, bits.start + 1, bits.end, 0) ?? null;
}

function isRsaOid(der: Uint8Array, oid: Tlv): boolean {
  if (oid.end - oid.start !== RSA_OID.length) return false;
  for (let i = 0; i < RSA_OID.length; i++) if (der[oid.start + i] !== RSA_OID[i]) return false;
  return true;
}

/** SEQUENCE { [skip INTEGERs], modulus INTEGER, exponent INTEGER, ... } */
function readRsaNumbers(der: Uint8Array, at: number, limit: number, skip: number): RsaPublic | undefined {
  const seq = expect(der, at, limit, SEQUENCE);
  if (!seq || seq.end !== limit) return undefined;
  let next = seq.start;
  for (let i = 0; i < skip; i++) {
    const skipped = expect(der, next, seq.end, INTEGER);
    if (!skipped) return undefined;
    next = skipped.end;
  }
  const modulus = expect(der, next, seq.end, INTEGER);
  const exponent = modulus && expect(der, modulus.end, seq.end, INTEGER);
  if (!exponent) return undefined;
  return { modulus: unsignedInteger(der, modulus), exponent: unsignedInteger(der, exponent) };
}

interface Time {
  ms: number;
  end: number;
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as epoch milliseconds. */
function readTime(der: Uint8Array, at: number, limit: number): Time | undefined {
  const t = readTlv(der, at, limit);
  if (!t) return undefined;
  const digits = t.tag === UTC_TIME ? 12 : t.tag === GENERALIZED_TIME ? 14 : 0;
  if (digits === 0 || t.end - t.start !== digits + 1 || der[t.end - 1] !== 0x5a) return undefined; // "Z"
  const n: number[] = [];
  for (let i = t.start; i < t.end - 1; i += 2) {
    const hi = der[i]! - 0x30;
    const lo = der[i + 1]! - 0x30;
    if (hi < 0 || hi > 9 || lo < 0 || lo > 9) return undefined;
    n.push(hi * 10 + lo);
  }
  const year = digits === 12 ? (n[0]! < 50 ? 2000 : 1900) + n[0]! : n[0]! * 100 + n[1]!;
  const [mo, d, h, mi, s] = n.slice(digits === 12 ? 1 : 2) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  return { ms: Date.UTC(year, mo - 1, d, h, mi, s), end: t.end };
}

export type PrivateKeyFacts =
  | { kind: "rsa"; rsa: RsaPublic }
  | { kind: "pkcs1" } // an RSAPrivateKey without the PKCS#8 wrapper
  | { kind: "other" } // PKCS#8 for another algorithm (EC, Ed25519, ...)
  | { kind: "malformed" };

/** What a private key DER is; the returned facts hold only the public numbers. */
export function parsePrivateKey(der: Uint8Array): PrivateKeyFacts {
  const outer = expect(der, 0, der.length, SEQUENCE);
  if (!outer || outer.end !== der.length) return { kind: "malformed" };
  const version = expect(der, outer.start, outer.end, INTEGER);
  const second = version && readTlv(der, version.end, outer.end);
  if (!second) return { kind: "malformed" };
  if (second.tag === INTEGER) return readRsaNumbers(der, 0, der.length, 1) ? { kind: "pkcs1" } : { kind: "malformed" };
  if (second.tag !== SEQUENCE) return { kind: "malformed" };
  const oid = expect(der, second.start, second.end, OID);
  const octets = expect(der, second.end, outer.end, OCTET_STRING);
  if (!oid || !octets) return { kind: "malformed" };
  if (!isRsaOid(der, oid)) return { kind: "other" };
  const rsa = readRsaNumbers(der, octets.start, octets.end, 1);
  return rsa ? { kind: "rsa", rsa } : { kind: "malformed" };
}

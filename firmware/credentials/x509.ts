// The few facts the device checks before using its credentials: a certificate's issuer and
// subject (raw DER, compared byte for byte), validity window and RSA public key; a PKCS#8 key's
// algorithm and RSA modulus. Anything else in the DER is skipped, not interpreted.

import { BIT_STRING, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, readTlv, SEQUENCE, unsignedInteger, UTC_TIME, type Tlv } from "./der.js";

// 1.2.840.113549.1.1.1 rsaEncryption
const RSA_OID = "42,134,72,134,247,13,1,1,1";

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

/**
 * The TLVs inside `[start, end)` when they fill it exactly and their tags begin with `tags`
 * (further children are allowed and unchecked); undefined otherwise.
 */
function children(der: Uint8Array, start: number, end: number, ...tags: number[]): Tlv[] | undefined {
  const list: Tlv[] = [];
  for (let at = start; at < end; ) {
    const tlv = readTlv(der, at, end);
    if (!tlv) return undefined;
    list.push(tlv);
    at = tlv.end;
  }
  return tags.every((tag, i) => list[i]?.tag === tag) ? list : undefined;
}

const inside = (der: Uint8Array, tlv: Tlv, ...tags: number[]) => children(der, tlv.start, tlv.end, ...tags);

/** Facts of a DER certificate; undefined when its structure is not a well-formed X.509 certificate. */
export function parseCertificate(der: Uint8Array): CertificateFacts | undefined {
  const cert = children(der, 0, der.length, SEQUENCE);
  const parts = cert && cert.length === 1 ? inside(der, cert[0]!, SEQUENCE, SEQUENCE, BIT_STRING) : undefined;
  let tbs = parts?.length === 3 ? inside(der, parts[0]!) : undefined;
  if (tbs?.[0]?.tag === 0xa0) tbs = tbs.slice(1); // explicit version
  if (!tbs || tbs.length < 6) return undefined;
  const [serial, , issuer, validity, subject, spki] = tbs as [Tlv, Tlv, Tlv, Tlv, Tlv, Tlv];
  if (serial.tag !== INTEGER || [tbs[1]!, issuer, validity, subject, spki].some((t) => t.tag !== SEQUENCE)) return undefined;
  const times = inside(der, validity);
  const notBefore = times && readTime(der, times[0]);
  const notAfter = times && readTime(der, times[1]);
  const rsa = readRsaSpki(der, spki);
  if (notBefore === undefined || notAfter === undefined || rsa === null) return undefined;
  // whole Name TLVs, header included, so that equal names compare equal byte for byte
  return { issuer: der.subarray(issuer.at, issuer.end), subject: der.subarray(subject.at, subject.end), notBefore, notAfter, rsa };
}

/** RSA key of a SubjectPublicKeyInfo; undefined for other algorithms, null when malformed. */
function readRsaSpki(der: Uint8Array, spki: Tlv): RsaPublic | undefined | null {
  const parts = inside(der, spki, SEQUENCE, BIT_STRING);
  const oid = parts?.length === 2 ? inside(der, parts[0]!, OID)?.[0] : undefined;
  if (!oid) return null;
  if (!isRsaOid(der, oid)) return undefined;
  const bits = parts![1]!;
  if (der[bits.start] !== 0) return null; // unused-bits count
  return readRsaNumbers(der, bits.start + 1, bits.end, 0) ?? null;
}

function isRsaOid(der: Uint8Array, oid: Tlv): boolean {
  return der.subarray(oid.start, oid.end).join() === RSA_OID;
}

/** SEQUENCE { [skip INTEGERs], modulus INTEGER, exponent INTEGER, ... } */
function readRsaNumbers(der: Uint8Array, at: number, limit: number, skip: number): RsaPublic | undefined {
  const seq = children(der, at, limit, SEQUENCE);
  const numbers = seq?.length === 1 ? inside(der, seq[0]!, ...Array<number>(skip + 2).fill(INTEGER)) : undefined;
  return numbers && { modulus: unsignedInteger(der, numbers[skip]!), exponent: unsignedInteger(der, numbers[skip + 1]!) };
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as epoch milliseconds. */
function readTime(der: Uint8Array, t: Tlv | undefined): number | undefined {
  const digits = t?.tag === UTC_TIME ? 12 : t?.tag === GENERALIZED_TIME ? 14 : 0;
  if (!t || !digits || t.end - t.start !== digits + 1 || der[t.end - 1] !== 0x5a) return undefined; // "Z"
  const n: number[] = [];
  for (let i = t.start; i < t.end - 1; i += 2) {
    const hi = der[i]! - 0x30;
    const lo = der[i + 1]! - 0x30;
    if (hi < 0 || hi > 9 || lo < 0 || lo > 9) return undefined;
    n.push(hi * 10 + lo);
  }
  const year = digits === 12 ? (n[0]! < 50 ? 2000 : 1900) + n[0]! : n[0]! * 100 + n[1]!;
  const [mo, d, h, mi, s] = n.slice(digits / 2 - 5) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  return Date.UTC(year, mo - 1, d, h, mi, s);
}

export type PrivateKeyFacts =
  | { kind: "rsa"; rsa: RsaPublic }
  | { kind: "pkcs1" } // an RSAPrivateKey without the PKCS#8 wrapper
  | { kind: "other" } // PKCS#8 for another algorithm (EC, Ed25519, ...)
  | { kind: "malformed" };

/** What a private key DER is; the returned facts hold only the public numbers. */
export function parsePrivateKey(der: Uint8Array): PrivateKeyFacts {
  const outer = children(der, 0, der.length, SEQUENCE);
  const parts = outer?.length === 1 ? inside(der, outer[0]!, INTEGER) : undefined;
  const second = parts?.[1];
  let kind: PrivateKeyFacts["kind"] = "malformed";
  if (second?.tag === INTEGER) {
    if (readRsaNumbers(der, 0, der.length, 1)) kind = "pkcs1";
  } else if (second?.tag === SEQUENCE && parts![2]?.tag === OCTET_STRING) {
    const oid = inside(der, second, OID)?.[0];
    if (oid && !isRsaOid(der, oid)) kind = "other";
    const rsa = oid && isRsaOid(der, oid) ? readRsaNumbers(der, parts![2].start, parts![2].end, 1) : undefined;
    if (rsa) return { kind: "rsa", rsa };
  }
  return { kind } as PrivateKeyFacts;
}

// A minimal DER reader: just enough TLV walking to check certificates and PKCS#8 keys where
// credentials are written (the `certs`
// tool; fleet provisioning on the device). Views into the input, no copies; every bound
// checked; undefined on malformed input.

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content (also where the next sibling starts). */
  end: number;
}

export const SEQUENCE = 0x30;
export const INTEGER = 0x02;
export const BIT_STRING = 0x03;
export const OCTET_STRING = 0x04;
export const OID = 0x06;
export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;

/** The TLV at `at`, if it is well-formed DER and ends by `limit`; undefined otherwise. */
export function readTlv(bytes: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = bytes[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers never occur in what we read
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) return undefined; // indefinite or > 16 MB
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | bytes[start + i]!;
    start += n;
    if (length < 0x80 || (n > 1 && length >> ((n - 1) * 8) === 0)) return undefined; // not minimal
  }
  const end = start + length;
  return end <= limit ? { tag, at, start, end } : undefined;
}

/** An INTEGER's magnitude bytes without the sign-padding zeros. */
export function unsignedInteger(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  let start = tlv.start;
  while (start < tlv.end - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start, tlv.end);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

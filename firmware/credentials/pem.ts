// PEM text from a server (fleet provisioning hands the device its certificate and key as PEM)
// to the DER the TLS stack takes: certificates as they are, RSA keys as PKCS#8 (Moddable's TLS
// reads PKCS#8 only; AWS returns PKCS#1 "RSA PRIVATE KEY").

import { fail, ok, type Result } from "../platform/failure.js";
import { base64Decode } from "../websocket/base64.js";

/** DER of every `label` block in `text`, in order ([] when none or not base64). */
export function pemBlocks(text: string, label: string): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const begin = `-----BEGIN ${label}-----`, end = `-----END ${label}-----`;
  let at = text.indexOf(begin);
  while (at >= 0) {
    const stop = text.indexOf(end, at);
    if (stop < 0) break;
    const der = base64Decode(text.slice(at + begin.length, stop));
    if (der) blocks.push(der);
    at = text.indexOf(begin, stop);
  }
  return blocks;
}

// AlgorithmIdentifier rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
const RSA_ALGORITHM = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/** A PKCS#8 DER private key from PEM "PRIVATE KEY" or "RSA PRIVATE KEY" (wrapped); Failure "credentials-invalid" otherwise. */
export function pkcs8FromPem(text: string): Result<Uint8Array> {
  const pkcs8 = pemBlocks(text, "PRIVATE KEY")[0];
  if (pkcs8) return ok(pkcs8);
  const pkcs1 = pemBlocks(text, "RSA PRIVATE KEY")[0];
  if (!pkcs1) return fail("credentials-invalid", "the private key is neither PEM PRIVATE KEY nor RSA PRIVATE KEY");
  const octets = tlv(0x04, pkcs1);
  const version = [0x02, 0x01, 0x00];
  const body = new Uint8Array(version.length + RSA_ALGORITHM.length + octets.length);
  body.set(version);
  body.set(RSA_ALGORITHM, version.length);
  body.set(octets, version.length + RSA_ALGORITHM.length);
  return ok(tlv(0x30, body));
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + length.length + n);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

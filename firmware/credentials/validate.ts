// The checks made where credentials are written (the `certs` tool on the host, fleet
// provisioning on the device): DER structure, an RSA PKCS#8 key that belongs to the leaf
// certificate, a chain ordered leaf first; and the validity window of each certificate, which
// the image carries so that the device judges dates at boot without parsing X.509
// (validity.ts). Failure messages say what is wrong and how to fix it, never what the key is.

import { ok, fail, type Result } from "../platform/failure.js";
import type { Clock } from "../platform/seam.js";
import { sameBytes } from "./der.js";
import { checkDates, checkPresence, describe, REISSUE, type Validity } from "./validity.js";
import { parseCertificate, parsePrivateKey, type CertificateFacts } from "./x509.js";

/** What the checks read: the key, the chain (leaf first) and the trusted CAs, DER. */
export interface CertificateContents {
  key?: Uint8Array;
  chain: Uint8Array[];
  trustedCa: Uint8Array[];
}

/**
 * The validity window of every certificate (chain, then trusted CAs) once their structure is
 * sound. Failure codes: "credentials-bad-der", "credentials-chain-order",
 * "credentials-key-not-pkcs8", "credentials-key-not-rsa", "credentials-key-mismatch".
 */
export function certificateWindows(contents: CertificateContents): Result<Validity[]> {
  const { key, chain, trustedCa } = contents;
  const certs: CertificateFacts[] = [];
  const all = [...chain, ...trustedCa];
  for (let i = 0; i < all.length; i++) {
    const facts = parseCertificate(all[i]!);
    if (!facts) return fail("credentials-bad-der", `${describe(i, chain.length)} is not DER X.509${REISSUE}`);
    certs.push(facts);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!sameBytes(certs[i]!.issuer, certs[i + 1]!.subject)) {
      return fail("credentials-chain-order", `certificate ${i + 1} of the chain is not issued by the next; write the device certificate first, then its CA`);
    }
  }
  if (key) {
    const facts = parsePrivateKey(key);
    const pub = certs[0]?.rsa;
    const problem = facts.kind === "malformed" ? ["bad-der", "is not DER"]
      : facts.kind === "pkcs1" ? ["key-not-pkcs8", "is PKCS#1, not PKCS#8 (convert: `openssl pkcs8 -topk8 -nocrypt -outform DER`)"]
      : facts.kind === "other" ? ["key-not-rsa", "is not RSA: Moddable's TLS takes only RSA PKCS#8 keys"]
      : !pub || !sameBytes(pub.modulus, facts.rsa.modulus) || !sameBytes(pub.exponent, facts.rsa.exponent) ? ["key-mismatch", "does not belong to the device certificate"]
      : undefined;
    if (problem) return fail("credentials-" + problem[0], `the private key ${problem[1]}${REISSUE}`);
  }
  return ok(certs.map(({ notBefore, notAfter }) => ({ notBefore, notAfter })));
}

/**
 * Everything the device would refuse now: validity.ts's presence checks, certificateWindows'
 * structure checks, then the dates by `clock`. Failure codes: those of checkPresence,
 * certificateWindows and checkDates.
 */
export function validateContents(contents: CertificateContents, clock: Clock, requireClientCertificate: boolean): Result<Validity[]> {
  const absent = checkPresence(contents.key, contents.chain.length, contents.trustedCa.length, requireClientCertificate);
  if (absent) return { ok: false, failure: absent };
  const windows = certificateWindows(contents);
  if (!windows.ok) return windows;
  const refused = checkDates(windows.value, contents.chain.length, clock);
  return refused ? { ok: false, failure: refused } : windows;
}

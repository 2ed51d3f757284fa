// Checks decoded credentials before any network use: DER structure, an RSA PKCS#8 key that
// belongs to the leaf certificate, a chain ordered leaf first, validity dates against the clock.
// Failure messages say what is wrong and how to fix it, never what the key is.

import { clockUnset, fail, ok, type Result } from "../platform/failure.js";
import type { Clock } from "../platform/seam.js";
import type { ContainerContents } from "./container.js";
import { sameBytes } from "./der.js";
import { parseCertificate, parsePrivateKey, type CertificateFacts } from "./x509.js";

const REISSUE = "; reissue it with `npm run certs -- device` and rewrite the credentials";

/**
 * ok(undefined) when `contents` can be used for TLS now. Failure codes: "credentials-incomplete",
 * "credentials-no-trusted-ca", "credentials-bad-der", "credentials-key-not-pkcs8",
 * "credentials-key-not-rsa", "credentials-key-mismatch", "credentials-chain-order",
 * "clock-unset" (retryable), "credentials-not-yet-valid", "credentials-expired".
 */
export function validateContents(contents: ContainerContents, clock: Clock, requireClientCertificate: boolean): Result<void> {
  const { key, chain, trustedCa } = contents;
  if ((key !== undefined) !== chain.length > 0 || (requireClientCertificate && !key)) {
    return fail("credentials-incomplete", "the device key and certificate chain must both be present" + REISSUE);
  }
  if (!trustedCa.length) return fail("credentials-no-trusted-ca", "no trusted root CA; add the server's (Amazon Root CA 1) with `--trusted-ca`");
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
    const pub = certs[0]!.rsa;
    const problem = facts.kind === "malformed" ? ["bad-der", "is not DER"]
      : facts.kind === "pkcs1" ? ["key-not-pkcs8", "is PKCS#1, not PKCS#8 (convert: `openssl pkcs8 -topk8 -nocrypt -outform DER`)"]
      : facts.kind === "other" ? ["key-not-rsa", "is not RSA: Moddable's TLS takes only RSA PKCS#8 keys"]
      : !pub || !sameBytes(pub.modulus, facts.rsa.modulus) || !sameBytes(pub.exponent, facts.rsa.exponent) ? ["key-mismatch", "does not belong to the device certificate"]
      : undefined;
    if (problem) return fail("credentials-" + problem[0], `the private key ${problem[1]}${REISSUE}`);
  }
  // Certificate dates cannot be judged before the clock is set.
  if (!clock.isSet()) return { ok: false, failure: clockUnset() };
  const now = clock.now();
  for (let i = 0; i < certs.length; i++) {
    const { notBefore, notAfter } = certs[i]!;
    const what = describe(i, chain.length);
    const fix = i < chain.length ? REISSUE : "; replace it with a current root CA";
    if (now < notBefore) return fail("credentials-not-yet-valid", `${what} is not valid before ${iso(notBefore)} (now ${iso(now)}): check the clock${fix}`);
    if (now > notAfter) return fail("credentials-expired", `${what} expired on ${iso(notAfter)} (now ${iso(now)})${fix}`);
  }
  return ok(undefined);
}

function describe(index: number, chainLength: number): string {
  return !index && chainLength ? "the device certificate" : index < chainLength ? `chain certificate ${index + 1}` : `trusted CA ${index - chainLength + 1}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// Checks decoded credentials before any network use: DER structure, an RSA PKCS#8 key that
// belongs to the leaf certificate, a chain ordered leaf first, validity dates against the clock.
// Failure messages say what is wrong and how to fix it, never what the key is.

import { fail, ok, type Result } from "../platform/failure.js";
import type { Clock } from "../platform/seam.js";
import type { ContainerContents } from "./container.js";
import { sameBytes } from "./der.js";
import { parseCertificate, parsePrivateKey, type CertificateFacts } from "./x509.js";

const REISSUE = "issue a new one with `npm run certs -- device` and rewrite the credentials";

/**
 * ok(undefined) when `contents` can be used for TLS now. Failure codes: "credentials-incomplete",
 * "credentials-no-trusted-ca", "credentials-bad-der", "credentials-key-not-pkcs8",
 * "credentials-key-not-rsa", "credentials-key-mismatch", "credentials-chain-order",
 * "clock-unset" (retryable), "credentials-not-yet-valid", "credentials-expired".
 */
export function validateContents(contents: ContainerContents, clock: Clock, requireClientCertificate: boolean): Result<void> {
  const { key, chain, trustedCa } = contents;
  if ((key !== undefined) !== chain.length > 0 || (requireClientCertificate && !key)) {
    return fail("credentials-incomplete", `${key ? "a private key but no certificate" : chain.length ? "a certificate chain but no private key" : "no private key and no certificate"}; write the device key and certificate chain with \`npm run certs -- device\` and rewrite the credentials`);
  }
  if (trustedCa.length === 0) return fail("credentials-no-trusted-ca", "no trusted root CA; add the server's root CA (Amazon Root CA 1 for AWS IoT Core) with `--trusted-ca` and rewrite the credentials");
  const certs: CertificateFacts[] = [];
  const all = [...chain, ...trustedCa];
  for (let i = 0; i < all.length; i++) {
    const facts = parseCertificate(all[i]!);
    if (!facts) return fail("credentials-bad-der", `${describe(i, chain.length)} is not a well-formed DER X.509 certificate; regenerate it with \`npm run certs\` and rewrite the credentials`);
    certs.push(facts);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!sameBytes(certs[i]!.issuer, certs[i + 1]!.subject)) {
      const reversed = sameBytes(certs[i + 1]!.issuer, certs[i]!.subject);
      return fail("credentials-chain-order", reversed
        ? "the certificate chain is not leaf first; put the device certificate first, then its CA, and rewrite the credentials"
        : `certificate ${i + 1} of the chain was not issued by certificate ${i + 2}; write the chain as device certificate then its issuing CA and rewrite the credentials`);
    }
  }
  if (key) {
    const checked = checkKey(key, certs[0]!);
    if (!checked.ok) return checked;
  }
  return checkDates(certs, chain.length, clock);
}

function checkKey(key: Uint8Array, leaf: CertificateFacts): Result<void> {
  const facts = parsePrivateKey(key);
  if (facts.kind === "malformed") return fail("credentials-bad-der", "the private key is not well-formed DER; regenerate it with `npm run certs -- device` and rewrite the credentials");
  if (facts.kind === "pkcs1") return fail("credentials-key-not-pkcs8", "the private key is PKCS#1, not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt -outform DER` and rewrite the credentials");
  if (facts.kind === "other") return fail("credentials-key-not-rsa", "the private key is not RSA, and Moddable's TLS accepts only RSA PKCS#8 client keys; create an RSA-2048 key with `npm run certs -- device` and rewrite the credentials");
  const pub = leaf.rsa;
  if (!pub || !sameBytes(pub.modulus, facts.rsa.modulus) || !sameBytes(pub.exponent, facts.rsa.exponent)) {
    return fail("credentials-key-mismatch", "the private key does not belong to the device certificate; write the key that was issued with it, or " + REISSUE);
  }
  return ok(undefined);
}

function checkDates(certs: CertificateFacts[], chainLength: number, clock: Clock): Result<void> {
  if (!clock.isSet()) return fail("clock-unset", "certificate dates cannot be checked before the clock is set; set the time (SNTP) before loading credentials", true);
  const now = clock.now();
  for (let i = 0; i < certs.length; i++) {
    const { notBefore, notAfter } = certs[i]!;
    const fix = i < chainLength ? REISSUE : "replace it with a current root CA and rewrite the credentials";
    if (now < notBefore) return fail("credentials-not-yet-valid", `${describe(i, chainLength)} is not valid before ${iso(notBefore)} (clock says ${iso(now)}); check the clock, or ${fix}`);
    if (now > notAfter) return fail("credentials-expired", `${describe(i, chainLength)} expired on ${iso(notAfter)} (clock says ${iso(now)}); ${fix}`);
  }
  return ok(undefined);
}

function describe(index: number, chainLength: number): string {
  if (index === 0 && chainLength > 0) return "the device certificate";
  return index < chainLength ? `certificate ${index + 1} of the chain` : `trusted root CA ${index - chainLength + 1}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

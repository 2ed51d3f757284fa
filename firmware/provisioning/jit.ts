// Just-in-Time Provisioning and Registration: what only a device whose certificate AWS
// provisions on its first connect needs. The builds of the certificate modes (mtls, mtls-alpn)
// and the development build map `provisioning/jit` here; a build whose mode sends no device
// certificate (custom-auth, the WebSocket modes) maps it to jit-none.ts, as it is always
// "provisioned" and none of this can happen to it.

import { toHex } from "../credentials/hex.js";
import type { Platform } from "../platform/seam.js";

// TLS alerts about the client certificate (firmware/platform/seam.ts TlsAlertName): while a
// fresh certificate is provisioned, AWS may answer with one of these; every other alert is permanent.
// A list, not a regular expression, for the device's heap (policy.ts DROPPED says why).
const ALERT = "tls-alert-";
const CERTIFICATE_ALERTS = ["bad-certificate", "unsupported-certificate", "certificate-revoked", "certificate-expired", "certificate-unknown", "certificate-required", "unknown-ca", "access-denied"];

/** What to check when a certificate is never accepted: refused with an alert after the grace time, or given up on. */
export const NOT_PROVISIONED_ADVICE: string | undefined = "check its CA is registered, ACTIVE, auto-registering, and the subject has the template's parameters (JITR: the function activates it)";

/**
 * For a TLS alert about the client certificate (`tls-alert-<name>`), what to check when it ends
 * the connection for good; undefined for any other code.
 */
export const certificateAlertAdvice: ((code: string, provisioned: boolean) => string | undefined) | undefined = (code, provisioned) =>
  code.startsWith(ALERT) && CERTIFICATE_ALERTS.includes(code.slice(ALERT.length)) ? (provisioned ? "the certificate may be revoked or inactive" : NOT_PROVISIONED_ADVICE) : undefined;

/** The fingerprint of the leaf certificate, by which the session remembers that it was provisioned. */
export const certificateFingerprint: ((platform: Pick<Platform, "crypto">, leaf: Uint8Array) => string) | undefined = (platform, leaf) =>
  toHex(platform.crypto.sha256(leaf).subarray(0, 8));

// Each TLS alert name the seam knows with its description number (RFC 5246 section 7.2,
// RFC 7301, RFC 8446 section 6): the Moddable binding turns the number its TLS stack reports
// into the name, the Node binding checks the name OpenSSL gives against the same list.

import type { TlsAlertName } from "./seam.js";

export const TLS_ALERTS: Readonly<Record<TlsAlertName, number>> = {
  "close-notify": 0, "unexpected-message": 10, "bad-record-mac": 20, "decryption-failed": 21,
  "record-overflow": 22, "decompression-failure": 30, "handshake-failure": 40, "no-certificate": 41,
  "bad-certificate": 42, "unsupported-certificate": 43, "certificate-revoked": 44,
  "certificate-expired": 45, "certificate-unknown": 46, "illegal-parameter": 47, "unknown-ca": 48,
  "access-denied": 49, "decode-error": 50, "decrypt-error": 51, "export-restriction": 60,
  "protocol-version": 70, "insufficient-security": 71, "internal-error": 80,
  "inappropriate-fallback": 86, "user-canceled": 90, "no-renegotiation": 100, "missing-extension": 109,
  "unsupported-extension": 110, "unrecognized-name": 112, "bad-certificate-status-response": 113,
  "unknown-psk-identity": 115, "certificate-required": 116, "no-application-protocol": 120,
};

/** The name of alert `description`, or "unknown" for a number outside the RFCs. */
export function alertName(description: number): TlsAlertName | "unknown" {
  for (const name in TLS_ALERTS) if (TLS_ALERTS[name as TlsAlertName] === description) return name as TlsAlertName;
  return "unknown";
}

/** `name` when it is a TLS alert name the seam knows, else "unknown". */
export function knownAlert(name: string): TlsAlertName | "unknown" {
  return name in TLS_ALERTS ? name as TlsAlertName : "unknown";
}

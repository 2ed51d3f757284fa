// Node's TLS and socket errors translated to the seam's transport failure codes
// (firmware/platform/seam.ts), so the firmware reacts the same on every binding.

import { failure } from "../../../firmware/platform/failure.js";
import type { TransportFailure } from "../../../firmware/platform/seam.js";
import { knownAlert } from "../../../firmware/platform/tls-alerts.js";

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED", "CERT_REJECTED", "INVALID_CA", "CERT_NOT_YET_VALID", "CERT_HAS_EXPIRED",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY", "PATH_LENGTH_EXCEEDED",
]);

const ALERT_FIXES: Record<string, string> = {
  "bad-certificate": "the server refused the client certificate; check that it is registered, active and sent with its CA",
  "unknown-ca": "the server does not know the CA of the client certificate; register the CA",
  "certificate-required": "the server requires a client certificate; configure one",
  "certificate-revoked": "the client certificate was revoked; issue a new one",
  "certificate-expired": "the client certificate has expired; issue a new one",
  "no-application-protocol": "the server accepts none of the offered ALPN protocols; check the port and ALPN for this mode",
  "handshake-failure": "the server found no common TLS parameters; check TLS version, cipher suites and client certificate",
};

/**
 * The seam's transport failure for a Node socket/TLS error; `opened` says whether the TLS
 * handshake had finished. Other errors (EHOSTUNREACH, ENETUNREACH...) become "connection-refused"
 * before the handshake and "connection-reset" after it (both retryable), with Node's code in the sentence.
 */
export function tlsFailure(error: NodeJS.ErrnoException, opened: boolean, peer: string): TransportFailure {
  const code = error.code ?? "";
  if (UNTRUSTED.has(code)) {
    return failure("tls-untrusted-server", `${peer}: the server certificate is not trusted (${code}); check the trusted root CA and the clock`);
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return failure("tls-hostname-mismatch", `${peer}: the server certificate does not name the server name (${error.message}); check the endpoint / SNI`);
  }
  const alert = /ALERT_([A-Z_]+)$/.exec(code) ?? /alert ([a-z ]+)/i.exec(error.message);
  if (alert) {
    const given = alert[1].toLowerCase().replace(/[_ ]+/g, "-").replace(/-+$/, "");
    const name = knownAlert(given);
    return failure(`tls-alert-${name}`, `${peer}: the server sent TLS alert "${given}": ${ALERT_FIXES[given] ?? "see the server's logs"}`);
  }
  if (code === "ECONNRESET" || code === "EPIPE") {
    return opened
      ? failure("connection-reset", `${peer}: the connection was reset; reconnect`, true)
      : failure("tls-handshake-reset", `${peer}: the connection was reset during the TLS handshake (a refused certificate or provisioning in progress); retry with backoff`, true);
  }
  if (code === "ECONNREFUSED") return failure("connection-refused", `${peer}: nothing listens there; check host and port`, true);
  if (code === "ETIMEDOUT") return failure("connection-timeout", `${peer}: no answer in time; check the network and the endpoint`, true);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return failure("dns-failure", `${peer}: the host name does not resolve; check the endpoint`, true);
  return opened
    ? failure("connection-reset", `${peer}: the connection failed (${code || "error"}: ${error.message}); reconnect`, true)
    : failure("connection-refused", `${peer}: could not connect (${code || "error"}: ${error.message}); check the endpoint, port and network`, true);
}

// How a SecureSocket ending becomes one of the seam's transport failure codes.
//
// Pure (no Moddable import) so that host tests can pin the mapping. Moddable's TLS stack reports
// every ending as a bare socket message (-1 disconnected, -2 error); transport.ts gathers the
// facts around it (how far the connection got, the alert the server sent, why the server
// certificate was refused) and this module turns them into a Failure.

import { failure } from "../failure.js";
import type { TransportFailure } from "../seam.js";
import { alertName } from "../tls-alerts.js";

/** Why the server certificate was refused, found by re-running Moddable's own check. */
export type CertificateRejection = "untrusted" | "hostname";

/** Everything known when a SecureSocket ends. */
export interface EndingFacts {
  /** "host:port" for messages. */
  where: string;
  /** The SNI / expected server name. */
  serverName: string;
  /** The TCP connection was established. */
  tcpConnected: boolean;
  /** The TLS handshake finished. */
  handshakeDone: boolean;
  /** Moddable's socket message: -1 disconnected, -2 error. */
  message: number;
  /** The alert description the server sent, if it sent one. */
  alert?: number;
  rejection?: CertificateRejection;
  /** Our own handshake deadline passed. */
  timedOut?: boolean;
}

/**
 * Returns the Failure for a SecureSocket ending, or undefined when the peer closed an open
 * connection with close_notify (an orderly close).
 */
export function endingFailure(facts: EndingFacts): TransportFailure | undefined {
  const { where, serverName } = facts;
  if (facts.timedOut)
    return failure("connection-timeout", `no TLS session with ${where} within the time limit; check the network and the endpoint`, true);
  if (facts.rejection === "hostname")
    return failure("tls-hostname-mismatch", `the server certificate of ${where} does not name "${serverName}"; check the endpoint or serverName setting`);
  if (facts.rejection === "untrusted")
    return failure("tls-untrusted-server", `the server certificate of ${where} does not lead to a trusted root CA; check the trusted CA in the credentials (Amazon Root CA 1 for AWS IoT Core)`);
  if (facts.alert !== undefined && facts.alert !== 0)
    return alertFailure(facts.alert, where, facts.handshakeDone);
  if (!facts.tcpConnected)
    return failure("connection-refused", `could not open a TCP connection to ${where} (refused, unreachable or name not resolved); check the endpoint, port and network`, true);
  if (!facts.handshakeDone)
    return failure("tls-handshake-reset", `${where} closed the connection during the TLS handshake (AWS IoT Core does this while it provisions a new certificate); retry with backoff`, true);
  if (facts.alert === 0)
    return undefined;
  if (facts.message === -2)
    return failure("connection-reset", `the connection to ${where} was reset; reconnect with backoff`, true);
  return failure("connection-closed", `${where} closed the connection; reconnect with backoff`, true);
}

function alertFailure(description: number, where: string, handshakeDone: boolean): TransportFailure {
  const name = alertName(description);
  const when = handshakeDone ? "after" : "during";
  return failure(`tls-alert-${name}`, `${where} sent the TLS alert "${name === "unknown" ? description : name}" ${when} the handshake; ${ALERT_FIXES[description] ?? "check the credentials and the server settings"}`);
}

const ALERT_FIXES: Record<number, string> = {
  40: "the server accepted none of the offered cipher suites or credentials",
  42: "the server refused the client certificate (not registered, inactive or not yet provisioned)",
  44: "the client certificate was revoked; issue a new one",
  45: "the client certificate expired; issue a new one",
  46: "the server refused the client certificate; check its registration and status",
  48: "the server does not know the CA of the client certificate; register the CA",
  49: "the server denied access; check the certificate's policy",
  116: "the server requires a client certificate; add one to the credentials",
  120: "the server accepts none of the offered ALPN protocols; check the connection mode and port",
};

/** Failure "tls-setup-failed": SecureSocket refused the options (a trusted CA, certificate or key it cannot use). */
export function setupFailure(where: string, reason: string): TransportFailure {
  return failure("tls-setup-failed", `could not start TLS to ${where} (${reason}); check the trusted CA and client certificate in the credentials`);
}

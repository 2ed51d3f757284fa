// The seam's OpenTransport on node:tls. Server verification is always on (there is no
// option to skip it); DER from the firmware becomes the PEM that node:tls wants.

import { X509Certificate, createPrivateKey } from "node:crypto";
import * as tls from "node:tls";
import { failure } from "../../../firmware/platform/failure.js";
import type { TlsOptions, Transport, TransportEvents, TransportFailure } from "../../../firmware/platform/seam.js";
import { tlsFailure } from "./tls-failure.js";

export interface NodeTlsSettings {
  /** Gives up on a TCP connect + TLS handshake that takes longer (default 15 s). */
  connectTimeoutMs?: number;
}

const certPem = (der: Uint8Array) => new X509Certificate(der).toString();

/** node:tls options for the seam's TlsOptions; throws if a certificate or the key does not parse. */
export function nodeTlsOptions(o: TlsOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    host: o.host,
    port: o.port,
    servername: o.serverName ?? o.host,
    ca: o.trustedCa.map(certPem),
    minVersion: "TLSv1.2",
    rejectUnauthorized: true,
  };
  if (o.clientCertificates?.length) options.cert = o.clientCertificates.map(certPem).join("");
  if (o.clientKey) {
    options.key = createPrivateKey({ key: Buffer.from(o.clientKey), format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }) as string;
  }
  if (o.alpn?.length) options.ALPNProtocols = o.alpn;
  return options;
}

/**
 * Opens a TLS connection. Every outcome arrives through `events`: `onOpen` after a verified
 * handshake, then `onData`s, then exactly one `onClose` (with a seam failure code, or none
 * for an orderly close). Bad certificate/key bytes close with "tls-setup-failed".
 */
export function openNodeTlsTransport(o: TlsOptions, events: TransportEvents<TransportFailure>, settings: NodeTlsSettings = {}): Transport {
  const peer = `${o.host}:${o.port}`;
  let opened = false;
  let closed = false;
  let problem: TransportFailure | undefined;
  let socket: tls.TLSSocket | undefined;

  const finish = () => {
    if (closed) return;
    closed = true;
    events.onClose(problem);
  };

  try {
    socket = tls.connect(nodeTlsOptions(o));
  } catch (e) {
    problem = failure("tls-setup-failed", `${peer}: the TLS certificates or key could not be used (${(e as Error).message}); check the credentials`);
    queueMicrotask(finish);
    return { write() {}, close() {} };
  }
  const s = socket;
  s.setNoDelay(true);
  s.setTimeout(settings.connectTimeoutMs ?? 15_000, () => {
    problem ??= failure("connection-timeout", `${peer}: no TLS handshake within ${settings.connectTimeoutMs ?? 15_000} ms; check the network and the endpoint`, true);
    s.destroy();
  });
  s.on("secureConnect", () => {
    s.setTimeout(0);
    if (o.alpn?.length && !s.alpnProtocol) {
      problem = failure("tls-alpn-refused", `${peer}: the server selected none of the ALPN protocols ${o.alpn.join(", ")}; check the port and mode`);
      s.destroy();
      return;
    }
    opened = true;
    events.onOpen({ alpn: s.alpnProtocol || undefined });
  });
  s.on("data", (chunk: Buffer) => {
    if (!closed) events.onData(chunk);
  });
  s.on("error", (e: NodeJS.ErrnoException) => {
    problem ??= tlsFailure(e, opened, peer);
  });
  s.on("end", () => {
    if (!opened) problem ??= failure("tls-handshake-reset", `${peer}: the server closed the connection during the TLS handshake; retry with backoff`, true);
  });
  s.on("close", finish);

  return {
    write(bytes, more) {
      // Copies: the caller may reuse its buffers once write returns, and node:tls keeps what it queues.
      if (!closed && !s.destroyed) s.write(more ? Buffer.concat([bytes, more]) : Buffer.from(bytes));
    },
    close() {
      if (s.destroyed || s.writableEnded) return;
      if (!opened) {
        s.destroy();
        return;
      }
      s.end();
      // A peer that never answers our close_notify must not keep the socket forever.
      setTimeout(() => s.destroy(), 2000).unref();
    },
  };
}

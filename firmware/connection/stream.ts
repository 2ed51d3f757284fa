// What every connection mode builds its stream opener from: TLS to the endpoint with the mode's
// ALPN and, for the certificate modes, the device certificate; an opener that refuses while the
// clock is unset; and a transport whose real stream opens after an asynchronous preparation.

import { clockUnset, ok, type Failure } from "../platform/failure.js";
import type { Platform, Transport, TransportEvents } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import type { CertificateConfig, ConnectionCredentials, ConnectionMode, Endpoint } from "./config.js";

/** Opens TLS to the endpoint; `alpn` offered when given, the device certificate sent when `withCertificate`. */
export function tlsOpener(config: Endpoint, credentials: ConnectionCredentials, platform: Pick<Platform, "openTransport">, alpn?: string, withCertificate?: boolean): OpenStream {
  const tls = {
    host: config.endpoint,
    port: config.port,
    serverName: config.serverName,
    trustedCa: credentials.trustedCa,
    ...(withCertificate ? { clientCertificates: credentials.certificateChain, clientKey: credentials.clientKey } : {}),
    ...(alpn ? { alpn: [alpn] } : {}),
  };
  return (events) => platform.openTransport(tls, events);
}

/**
 * `start` while the clock is set; otherwise a transport that closes with "clock-unset" (never
 * synchronously from inside `open`). Its own, not `deferred`'s: a build whose modes fetch
 * nothing before they connect carries no `deferred`.
 */
export function guarded(platform: Pick<Platform, "clock" | "timers">, start: OpenStream): OpenStream {
  return (events) => {
    if (platform.clock.isSet()) return start(events);
    platform.timers.setTimeout(() => events.onClose(clockUnset()), 0);
    return { write() {}, close() {} };
  };
}

/**
 * A Transport whose real stream opens once `prepare` hands over an opener (after fetching
 * credentials), or that closes with the Failure `prepare` gives instead; while the clock is
 * unset, `prepare` is not called and it closes with "clock-unset". Never calls `events.onClose`
 * synchronously from inside `open` or `close`.
 */
export function deferred(platform: Pick<Platform, "clock" | "timers">, events: TransportEvents, prepare: (proceed: (next: OpenStream | Failure) => void) => void): Transport {
  let inner: Transport | undefined;
  let closed = false;
  const end = (why?: Failure) => {
    if (closed) return;
    closed = true;
    platform.timers.setTimeout(() => events.onClose(why), 0);
  };
  const proceed = (next: OpenStream | Failure) => {
    if (closed) return;
    if (typeof next === "function") inner = next(events);
    else end(next);
  };
  platform.timers.setTimeout(() => (platform.clock.isSet() ? prepare(proceed) : proceed(clockUnset())), 0);
  return {
    write: (bytes, more) => inner?.write(bytes, more),
    close: () => (inner ? inner.close() : end()),
  };
}

/** A mode that authenticates with the device certificate over TLS: mtls, mtls-alpn. */
export function certificateMode(name: CertificateConfig["mode"], port: number, alpn?: string): ConnectionMode<CertificateConfig, Record<never, never>> {
  return {
    name,
    clientCertificate: true,
    port,
    settings: {},
    configure: (endpoint) => ok({ ...endpoint, mode: name }),
    connect: (config, credentials, platform) => ok({ open: guarded(platform, tlsOpener(config, credentials, platform, alpn, true)) }),
  };
}

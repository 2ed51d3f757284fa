// The HTTPS publish request: `POST /topics/<topic>?qos=1` with the mode's authentication, over a
// keep-alive connection (HTTP/1.1), and what an HTTPS mode hands the session to make one.

import type { ConnectionCredentials, Endpoint } from "../connection/config.js";
import { guarded, tlsOpener } from "../connection/stream.js";
import type { OpenStream } from "../mqtt/client.js";
import type { Platform } from "../platform/seam.js";
import { uriEncode } from "../sigv4/sign.js";
import { hostHeader, requestHead } from "../websocket/http-head.js";

/** What an HTTPS mode's `connect` returns (the session module reads it). */
export interface HttpsLink {
  /** Opens TLS to the endpoint as the mode says (device certificate, ALPN). */
  open: OpenStream;
  /** The Host header: the server name, with `:port` unless 443. */
  host: string;
  /**
   * The authentication of one POST: query parameters to append (already encoded, may be empty)
   * and headers to add. Called for each request: a signature covers its time and body.
   */
  authorize(path: string, query: string, body: Uint8Array): { query: string; headers: [string, string][] };
}

/** `/topics/<topic>` with every byte but A-Z a-z 0-9 - _ . ~ percent-encoded, `/` too (one path segment). */
export function topicPath(topic: string): string {
  return "/topics/" + uriEncode(topic);
}

/**
 * The request head of one publish (the body goes after it): Host, the mode's headers,
 * Content-Type JSON, Content-Length, and keep-alive. Cannot fail.
 */
export function publishHead(link: HttpsLink, topic: string, body: Uint8Array): Uint8Array {
  const path = topicPath(topic);
  const auth = link.authorize(path, "qos=1", body);
  const headers: [string, string][] = [...auth.headers, ["Content-Type", "application/json"], ["Content-Length", String(body.length)], ["Connection", "keep-alive"]];
  return requestHead("POST", path + "?qos=1" + (auth.query ? "&" + auth.query : ""), link.host, headers);
}

/**
 * The link of an HTTPS mode: TLS to the endpoint (the device certificate when `withCertificate`,
 * `alpn` offered when given), refused with an unset clock, and the mode's `authorize`. Cannot fail.
 */
export function httpsLink(config: Endpoint, credentials: ConnectionCredentials, platform: Platform, authorize: HttpsLink["authorize"], withCertificate = false, alpn?: string): HttpsLink {
  return { open: guarded(platform, tlsOpener(config, credentials, platform, alpn, withCertificate)), host: hostHeader(config.serverName, config.port), authorize };
}

/** No authentication in the request: the TLS client certificate is it. */
export const certificateOnly: HttpsLink["authorize"] = () => ({ query: "", headers: [] });

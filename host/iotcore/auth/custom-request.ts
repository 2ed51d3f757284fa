// Finds the custom-authorizer values a client sent: in the MQTT CONNECT username
// (`<user>?x-amz-customauthorizer-name=..&x-amz-customauthorizer-signature=..&<tokenKey>=..`)
// or, over WebSocket, in the upgrade request's headers or query string. Pure.

import { decodePercent } from "./sigv4.js";

export const AUTHORIZER_NAME_KEY = "x-amz-customauthorizer-name";
export const AUTHORIZER_SIGNATURE_KEY = "x-amz-customauthorizer-signature";

/** Where each value came from; the token is looked up by the authorizer's token key name. */
export interface CustomAuthRequest {
  authorizerName?: string;
  signature?: string;
  /** Returns the value sent under `key` (header, query parameter or username parameter). */
  value(key: string): string | undefined;
}

/** Parses `a=1&b=2` (percent-decoded; `+` kept: base64 survives unencoded); never fails. */
export function parseQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of query.replace(/^\?/, "").split("&")) {
    if (part.length === 0) continue;
    const eq = part.indexOf("=");
    const key = decodePercent(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(key)) out.set(key, decodePercent(eq < 0 ? "" : part.slice(eq + 1)));
  }
  return out;
}

/** Reads the values from an MQTT username; a username without `?` yields none of them. */
export function fromMqttUsername(username: string | undefined): CustomAuthRequest {
  const q = username?.indexOf("?") ?? -1;
  const params = q < 0 ? new Map<string, string>() : parseQuery(username!.slice(q + 1));
  return fromLookup((key) => params.get(key));
}

/** Reads the values from WebSocket upgrade headers first, then from its query string. */
export function fromHttpRequest(headers: Record<string, string | string[] | undefined>, url: string): CustomAuthRequest {
  const q = url.indexOf("?");
  const params = q < 0 ? new Map<string, string>() : parseQuery(url.slice(q + 1));
  return fromLookup((key) => {
    const header = headers[key.toLowerCase()];
    if (header !== undefined) return Array.isArray(header) ? header[0] : header;
    return params.get(key);
  });
}

function fromLookup(value: (key: string) => string | undefined): CustomAuthRequest {
  return { authorizerName: value(AUTHORIZER_NAME_KEY), signature: value(AUTHORIZER_SIGNATURE_KEY), value };
}

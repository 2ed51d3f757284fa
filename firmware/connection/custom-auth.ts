// The values a custom authorizer reads (seeds 000 and 001): its name, the token under the
// authorizer's token key name, and the token's signature when signing is enabled.

import type { ConnectionConfig } from "./config.js";

type AuthFields = Pick<ConnectionConfig, "authorizerName" | "tokenKeyName" | "token" | "tokenSignature">;

/** Name/value pairs in AWS's order (unencoded); empty when nothing is configured. Cannot fail. */
export function customAuthPairs(c: AuthFields): [string, string][] {
  const pairs: [string, string][] = [];
  if (c.authorizerName) pairs.push(["x-amz-customauthorizer-name", c.authorizerName]);
  if (c.tokenSignature) pairs.push(["x-amz-customauthorizer-signature", c.tokenSignature]);
  if (c.tokenKeyName && c.token !== undefined) pairs.push([c.tokenKeyName, c.token]);
  return pairs;
}

/** `a=1&b=2` with every name and value URL-encoded (the base64 signature's + / = included). */
export function customAuthQuery(c: AuthFields): string {
  return customAuthPairs(c).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/**
 * The MQTT CONNECT username for custom auth over MQTT (443, ALPN `mqtt`):
 * `<username>?x-amz-customauthorizer-name=..&x-amz-customauthorizer-signature=..&<tokenKeyName>=<token>`;
 * the plain username when no authorizer value is set. Cannot fail.
 */
export function customAuthUsername(c: AuthFields & { username?: string }): string {
  const query = customAuthQuery(c);
  return (c.username ?? "") + (query ? "?" + query : "");
}

// The values a custom authorizer reads: its name, the token under the authorizer's token key
// name, and the token's signature when signing is enabled. Shared by the custom-auth and
// wss-custom-auth modes: their settings, the checks between them, and how they are sent.

import { ok, type Result } from "../platform/failure.js";
import { badSetting, TEXT, type AuthorizerSettings } from "./config.js";

/** The rule of each authorizer setting. */
export const AUTHORIZER_SETTINGS = { authorizerName: TEXT, tokenKeyName: TEXT, token: TEXT, tokenSignature: TEXT } as const;

/**
 * The settings when they fit together, or a Failure "config-invalid" naming the setting: a token
 * needs its key name (a plain header name), a signature needs its token, and without an
 * authorizer name a token or `username` must be set for the default authorizer.
 */
export function checkAuthorizer<S extends AuthorizerSettings & { username?: string }>(s: S): Result<S> {
  const { token, tokenKeyName, tokenSignature } = s;
  if (token !== undefined && !tokenKeyName) return badSetting(s, "tokenKeyName", "must be set with a token");
  if (tokenKeyName !== undefined && !/^[\w!#$%&'*+.^`|~-]+$/.test(tokenKeyName)) return badSetting(s, "tokenKeyName", "must be a plain header name");
  if (tokenSignature !== undefined && token === undefined) return badSetting(s, "token", "must be set with tokenSignature");
  if (tokenSignature !== undefined && !/^[a-z\d+/]+=*$/i.test(tokenSignature)) return badSetting(s, "tokenSignature", "must be the token's base64 RSA-SHA256 signature");
  if (s.authorizerName === undefined && token === undefined && s.username === undefined) return badSetting(s, "authorizerName", "must be set, or a token or username for the default authorizer");
  return ok(s);
}

const PREFIX = "x-amz-customauthorizer-";

/** Name/value pairs in AWS's order (unencoded); empty when nothing is configured. Cannot fail. */
export function customAuthPairs(c: AuthorizerSettings): [string, string][] {
  const pairs = [[PREFIX + "name", c.authorizerName], [PREFIX + "signature", c.tokenSignature], [c.tokenKeyName, c.token]];
  return pairs.filter(([name, value]) => name && value !== undefined) as [string, string][];
}

/** `a=1&b=2` with every name and value URL-encoded (the base64 signature's + / = included). */
export function customAuthQuery(c: AuthorizerSettings): string {
  return customAuthPairs(c).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/**
 * The MQTT CONNECT username for custom auth over MQTT (443, ALPN `mqtt`):
 * `<username>?x-amz-customauthorizer-name=..&x-amz-customauthorizer-signature=..&<tokenKeyName>=<token>`;
 * the plain username when no authorizer value is set. Cannot fail.
 */
export function customAuthUsername(c: AuthorizerSettings & { username?: string }): string {
  const query = customAuthQuery(c);
  return (c.username ?? "") + (query ? "?" + query : "");
}

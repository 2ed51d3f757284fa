// The connection config: how to reach AWS IoT Core in one of its five device modes. Built
// from the device config's `mode`, `endpoint`, `port`, `serverName` and its `connection`
// object (mode-specific settings), and validated before any network use with the same field
// checker as the device config.

import { ok, type Result } from "../platform/failure.js";
import { CONFIG_FIELDS, invalidField, mustBe, type ConnectionMode, type Rule } from "../config/config.js";

export type { ConnectionMode };

export interface ConnectionConfig {
  mode: ConnectionMode;
  /** Address dialled (DNS name or IP). */
  endpoint: string;
  /** 8883 for mtls, 443 otherwise, unless set. */
  port: number;
  /** SNI and the name checked on the server certificate: the endpoint or a custom domain. */
  serverName: string;
  /** Custom authentication (custom-auth, wss-custom-auth). Absent authorizerName = the domain's default authorizer. */
  authorizerName?: string;
  tokenKeyName?: string;
  token?: string;
  /** Base64 RSA-SHA256 signature of `token`, made off the device; absent when signing is disabled. */
  tokenSignature?: string;
  username?: string;
  password?: string;
  /** wss-custom-auth: send the authorizer values in the query string instead of headers. */
  authInQuery?: boolean;
  /** wss-sigv4: the endpoint's region, e.g. "us-east-1". */
  region?: string;
  /** wss-sigv4 with fixed credentials (development; prefer a Cognito identity pool). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Milliseconds since the epoch when fixed temporary credentials expire. */
  credentialsExpiration?: number;
  /** wss-sigv4: temporary credentials from this Cognito identity pool (unauthenticated identities). */
  identityPoolId?: string;
  /** Cognito endpoint; default `cognito-identity.<pool region>.amazonaws.com`, port 443. */
  cognitoEndpoint?: string;
  /** Where to dial the Cognito endpoint when not its DNS name (a local stand-in); SNI stays `cognitoEndpoint`. */
  cognitoAddress?: string;
  cognitoPort?: number;
  /** Adds X-Amz-Expires (seconds) to the presigned URL. */
  presignExpiresSeconds?: number;
}

/** The device config fields this module reads (DeviceConfig satisfies it). */
export interface ConnectionFields {
  mode: unknown;
  endpoint: unknown;
  port?: unknown;
  serverName?: unknown;
  connection?: unknown;
}

const TEXT = 4096;
const COUNT: Rule = [0, Number.MAX_SAFE_INTEGER];
const settings: { [K in keyof ConnectionConfig]?: Rule } = {
  authorizerName: TEXT, tokenKeyName: TEXT, token: TEXT, tokenSignature: TEXT,
  username: TEXT, password: TEXT, authInQuery: "boolean", region: TEXT,
  accessKeyId: TEXT, secretAccessKey: TEXT, sessionToken: TEXT, credentialsExpiration: COUNT,
  identityPoolId: TEXT, cognitoEndpoint: "host", cognitoAddress: "host", cognitoPort: [1, 65535], presignExpiresSeconds: [1, 604800],
};
const top = ["mode", "endpoint", "port", "serverName", "connection"] as const;

/**
 * Returns the validated config, or a Failure "config-invalid" naming the field (`mode`,
 * `endpoint`, `port`, `serverName`, or `connection.<name>`), its value (secrets withheld)
 * and what it must be.
 */
export function validateConnectionConfig(fields: ConnectionFields): Result<ConnectionConfig> {
  const given = { ...fields, connection: fields.connection ?? {} } as Record<string, unknown>;
  for (const name of top) {
    const value = given[name];
    const problem = name === "endpoint" && !value ? "a host name" : value === undefined ? undefined : mustBe(value, CONFIG_FIELDS[name][1]);
    if (problem) return invalid(name, value, "must be " + problem);
  }
  const { mode, endpoint, port, serverName } = given as unknown as ConnectionConfig;
  const config = { mode, endpoint, port: port || (mode === "mtls" ? 8883 : 443), serverName: serverName || endpoint } as ConnectionConfig;
  const connection = given.connection as Record<string, unknown>;
  for (const name in connection) {
    const value = connection[name];
    const rule = settings[name as keyof ConnectionConfig];
    const problem = !rule ? `is not a connection setting (known: ${Object.keys(settings).join(", ")})`
      : value === undefined || value === "" ? undefined : mustBe(value, rule);
    if (problem) return invalid("connection." + name, value, rule ? "must be " + problem : problem);
    if (value !== undefined && value !== "") (config as unknown as Record<string, unknown>)[name] = value;
  }
  return checkMode(config);
}

const AWS_HOST = /\.iot\.([a-z0-9-]+)\.amazonaws\.com$/;

function checkMode(c: ConnectionConfig): Result<ConnectionConfig> {
  const bad = (name: keyof ConnectionConfig, problem: string) => invalid("connection." + name, c[name], problem);
  const { mode, token, tokenKeyName, tokenSignature, username } = c;
  if (mode === "custom-auth" || mode === "wss-custom-auth") {
    if (token !== undefined && !tokenKeyName) return bad("tokenKeyName", "must be set with a token");
    if (tokenKeyName !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(tokenKeyName)) return bad("tokenKeyName", "must be a plain header name");
    if (tokenSignature !== undefined && token === undefined) return bad("token", "must be set with tokenSignature");
    if (tokenSignature !== undefined && !/^[A-Za-z0-9+/]+=*$/.test(tokenSignature)) return bad("tokenSignature", "must be the token's base64 RSA-SHA256 signature");
    if (c.authorizerName === undefined && token === undefined && username === undefined) return bad("authorizerName", "must be set, or a token or username for the default authorizer");
    if (mode === "wss-custom-auth" && username !== undefined) return bad("username", "is not used over WebSocket: pass a token");
  } else if (mode === "wss-sigv4") {
    const { accessKeyId, secretAccessKey, identityPoolId } = c;
    c.region ??= AWS_HOST.exec(c.serverName)?.[1] ?? AWS_HOST.exec(c.endpoint)?.[1] ?? /^([a-z0-9-]+):/.exec(identityPoolId ?? "")?.[1];
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(c.region ?? "")) return bad("region", "must be the endpoint's AWS region, e.g. us-east-1");
    const fixed = accessKeyId !== undefined || secretAccessKey !== undefined;
    if (fixed === (identityPoolId !== undefined)) return bad("identityPoolId", "or accessKeyId and secretAccessKey must be set, not both");
    if (fixed && (!accessKeyId || !secretAccessKey)) return bad(accessKeyId ? "secretAccessKey" : "accessKeyId", "must be set with the other half of the key");
    if (identityPoolId !== undefined && !/^[a-z0-9-]+:[0-9a-f-]+$/.test(identityPoolId)) return bad("identityPoolId", "must look like us-east-1:<uuid>");
  }
  return ok(c);
}

function invalid(field: string, value: unknown, problem: string): Result<never> {
  return { ok: false, failure: invalidField(field, value, problem) };
}

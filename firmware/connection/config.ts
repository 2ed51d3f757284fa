// The connection config: how to reach AWS IoT Core in one of its five device modes. Built
// from the device config's `mode`, `endpoint`, `port`, `serverName` and its `connection`
// object (mode-specific settings), and validated field by field before any network use.

import { fail, ok, type Result } from "../platform/failure.js";

export type ConnectionMode = "mtls" | "mtls-alpn" | "custom-auth" | "wss-custom-auth" | "wss-sigv4";

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

type Kind = "string" | "int" | "bool";
const settings: Record<string, Kind> = {
  authorizerName: "string", tokenKeyName: "string", token: "string", tokenSignature: "string",
  username: "string", password: "string", authInQuery: "bool", region: "string",
  accessKeyId: "string", secretAccessKey: "string", sessionToken: "string", credentialsExpiration: "int",
  identityPoolId: "string", cognitoEndpoint: "string", cognitoAddress: "string", cognitoPort: "int", presignExpiresSeconds: "int",
};
/** Fields whose values must never appear in an error message. */
const secret = ["token", "tokenSignature", "password", "secretAccessKey", "sessionToken"];
const MODES = ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"];
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^[0-9a-fA-F:]+$/;
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Returns the validated config, or a Failure "config-invalid" naming the field (`mode`,
 * `endpoint`, `port`, `serverName`, or `connection.<name>`), its value (secrets withheld)
 * and what it must be.
 */
export function validateConnectionConfig(fields: ConnectionFields): Result<ConnectionConfig> {
  const { mode, endpoint, port, serverName } = fields;
  const connection = fields.connection ?? {};
  if (typeof mode !== "string" || !MODES.includes(mode)) return invalid("mode", mode, `must be one of ${MODES.join(", ")}`);
  if (typeof endpoint !== "string" || endpoint.length > 253 || !HOST.test(endpoint)) return invalid("endpoint", endpoint, "must be a host name such as xxxx-ats.iot.us-east-1.amazonaws.com");
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535)) return invalid("port", port, "must be an integer from 0 (the mode's standard port) to 65535");
  if (serverName !== undefined && serverName !== "" && (typeof serverName !== "string" || serverName.length > 253 || !HOST.test(serverName))) return invalid("serverName", serverName, "must be a host name (the endpoint or your custom domain)");
  if (typeof connection !== "object" || connection === null || Array.isArray(connection)) return invalid("connection", connection, "must be an object");
  const config = { mode, endpoint, port: (port as number) || (mode === "mtls" ? 8883 : 443), serverName: (serverName as string) || endpoint } as ConnectionConfig;
  for (const [name, value] of Object.entries(connection)) {
    const kind = settings[name];
    if (!kind) return invalid(`connection.${name}`, value, `is not a connection setting (known: ${Object.keys(settings).join(", ")})`);
    if (value === undefined || value === "") continue;
    if (kind === "string" && (typeof value !== "string" || value.length > 4096 || CONTROL.test(value))) return invalid(`connection.${name}`, value, "must be a string without control characters");
    if (kind === "int" && (typeof value !== "number" || !Number.isInteger(value) || value < 0)) return invalid(`connection.${name}`, value, "must be a non-negative integer");
    if (kind === "bool" && typeof value !== "boolean") return invalid(`connection.${name}`, value, "must be true or false");
    (config as unknown as Record<string, unknown>)[name] = value;
  }
  return checkMode(config);
}

function checkMode(c: ConnectionConfig): Result<ConnectionConfig> {
  if (c.mode === "custom-auth" || c.mode === "wss-custom-auth") {
    if (c.token !== undefined && !c.tokenKeyName) return invalid("connection.tokenKeyName", c.tokenKeyName, "must be set when a token is (the authorizer's token key name)");
    if (c.tokenKeyName !== undefined && !HTTP_TOKEN.test(c.tokenKeyName)) return invalid("connection.tokenKeyName", c.tokenKeyName, "must be a plain header name (letters, digits, -)");
    if (c.tokenSignature !== undefined && c.token === undefined) return invalid("connection.token", undefined, "must be set when tokenSignature is (the signature signs the token)");
    if (c.tokenSignature !== undefined && !/^[A-Za-z0-9+/]+=*$/.test(c.tokenSignature)) return invalid("connection.tokenSignature", c.tokenSignature, "must be the base64 RSA-SHA256 signature of the token");
    if (c.authorizerName === undefined && c.token === undefined && c.username === undefined) return invalid("connection.authorizerName", undefined, "must be set, or a token or username for the domain's default authorizer");
    if (c.mode === "wss-custom-auth" && c.username !== undefined) return invalid("connection.username", c.username, "is not used over WebSocket: pass the token instead");
  } else if (c.mode === "wss-sigv4") {
    const awsName = /\.iot\.([a-z0-9-]+)\.amazonaws\.com$/;
    c.region ??= awsName.exec(c.serverName)?.[1] ?? awsName.exec(c.endpoint)?.[1] ?? /^([a-z0-9-]+):/.exec(c.identityPoolId ?? "")?.[1];
    if (!c.region || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(c.region)) return invalid("connection.region", c.region, "must be the endpoint's AWS region, e.g. us-east-1");
    const fixed = c.accessKeyId !== undefined || c.secretAccessKey !== undefined;
    if (fixed === (c.identityPoolId !== undefined)) return invalid("connection.identityPoolId", c.identityPoolId, "or accessKeyId with secretAccessKey must be set, not both");
    if (fixed && (!c.accessKeyId || !c.secretAccessKey)) return invalid(c.accessKeyId ? "connection.secretAccessKey" : "connection.accessKeyId", undefined, "must be set with the other half of the key");
    if (c.identityPoolId !== undefined && !/^[a-z0-9-]+:[0-9a-f-]+$/.test(c.identityPoolId)) return invalid("connection.identityPoolId", c.identityPoolId, "must look like us-east-1:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    if (c.cognitoEndpoint !== undefined && !HOST.test(c.cognitoEndpoint)) return invalid("connection.cognitoEndpoint", c.cognitoEndpoint, "must be a host name");
    if (c.cognitoAddress !== undefined && !HOST.test(c.cognitoAddress)) return invalid("connection.cognitoAddress", c.cognitoAddress, "must be a host name or IP address");
    if (c.cognitoPort !== undefined && (c.cognitoPort < 1 || c.cognitoPort > 65535)) return invalid("connection.cognitoPort", c.cognitoPort, "must be 1 to 65535");
    if (c.presignExpiresSeconds !== undefined && (c.presignExpiresSeconds < 1 || c.presignExpiresSeconds > 604800)) return invalid("connection.presignExpiresSeconds", c.presignExpiresSeconds, "must be 1 to 604800");
  }
  return ok(c);
}

function invalid(field: string, value: unknown, must: string): Result<never> {
  const name = field.replace("connection.", "");
  const shown = secret.includes(name) && value !== undefined ? "(withheld)" : typeof value === "string" ? JSON.stringify(value.length > 60 ? value.slice(0, 60) + "..." : value) : String(value);
  return fail("config-invalid", `config field "${field}" = ${shown} ${must}.`);
}

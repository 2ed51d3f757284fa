// The SigV4 credentials of the modes that sign (wss-sigv4, https-sigv4), one set of settings and
// rules for both: a Cognito identity pool (temporary credentials the device fetches and renews
// itself, firmware/cognito/identity.ts) or fixed keys (development); and, before each signing,
// credentials in hand that have not expired.

import type { CognitoPool, ConnectionCredentials, Endpoint } from "../connection/config.js";
import { badSetting, TEXT } from "../connection/config.js";
import type { Rule } from "../config/config.js";
import { failure, ok, type Result } from "../platform/failure.js";
import type { Platform } from "../platform/seam.js";
import { cognitoCredentials, type CredentialSource } from "../cognito/identity.js";
import type { SigV4Credentials } from "./sign.js";

/** The `connection` settings of a signing mode. */
export interface SigV4Settings {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  credentialsExpiration?: number;
  identityPoolId?: string;
  cognitoEndpoint?: string;
  cognitoAddress?: string;
  cognitoPort?: number;
}

/** What a signing mode's config holds besides the endpoint. */
export interface SigV4Signer {
  /** The endpoint's region, e.g. "us-east-1". */
  region: string;
  /** A pool, or fixed credentials (development; prefer a pool). */
  credentials: SigV4Credentials | CognitoPool;
}

export const SIGV4_SETTINGS: { readonly [K in keyof SigV4Settings]-?: Rule } = {
  region: TEXT, accessKeyId: TEXT, secretAccessKey: TEXT, sessionToken: TEXT, credentialsExpiration: [0, Number.MAX_SAFE_INTEGER],
  identityPoolId: TEXT, cognitoEndpoint: "host", cognitoAddress: "host", cognitoPort: [1, 65535],
};

const AWS_HOST = /\.iot\.([a-z0-9-]+)\.amazonaws\.com$/;

/**
 * The region (set, or read from the endpoint's or the pool's name) and the credentials: an
 * identity pool or both halves of a key, not both. Failure "config-invalid" naming the setting.
 * (The config drops empty settings, so a setting here is set or undefined.)
 */
export function sigV4Signer(endpoint: Endpoint, s: SigV4Settings): Result<SigV4Signer> {
  const { accessKeyId, secretAccessKey, identityPoolId } = s;
  const region = s.region ?? AWS_HOST.exec(endpoint.serverName)?.[1] ?? AWS_HOST.exec(endpoint.endpoint)?.[1] ?? identityPoolId?.split(":")[0] ?? "";
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return badSetting(s, "region", "must be the endpoint's AWS region, e.g. us-east-1");
  const key = accessKeyId ?? secretAccessKey;
  if (identityPoolId ? key : !key) return badSetting(s, "identityPoolId", "or accessKeyId and secretAccessKey must be set, not both");
  if (identityPoolId) {
    if (!/^[a-z0-9-]+:[0-9a-f-]+$/.test(identityPoolId)) return badSetting(s, "identityPoolId", "must look like us-east-1:<uuid>");
    // The pool's settings (identityPoolId, cognitoEndpoint, cognitoAddress, cognitoPort) as they are.
    return ok({ region, credentials: { ...s, identityPoolId } });
  }
  if (!accessKeyId || !secretAccessKey) return badSetting(s, accessKeyId ? "secretAccessKey" : "accessKeyId", "must be set with the other half of the key");
  return ok({ region, credentials: { accessKeyId, secretAccessKey, sessionToken: s.sessionToken, expiration: s.credentialsExpiration } });
}

/**
 * Credentials to sign with now: the pool's (fetched or renewed when needed) or the fixed ones;
 * Failure "credentials-expired" when the fixed ones are past their expiry, or the Cognito one.
 * (The pool's are valid for minutes more when they arrive: cognito/identity.ts renews them first.)
 */
export function signingCredentials({ credentials: c }: SigV4Signer, credentials: ConnectionCredentials, platform: Platform): CredentialSource {
  return "identityPoolId" in c ? cognitoCredentials(platform, c, credentials.trustedCa)
    : (done) => done((c.expiration ?? Infinity) > platform.clock.now() ? c
      : failure("credentials-expired", `The SigV4 credentials of ${c.accessKeyId} have expired: set fresh ones or use a Cognito identity pool.`));
}

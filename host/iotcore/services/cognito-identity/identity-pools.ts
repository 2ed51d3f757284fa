// Cognito identity pools as AWS serves them (JSON 1.1, X-Amz-Target AWSCognitoIdentityService.*):
// pools, their roles, unauthenticated and authenticated identities, and temporary credentials
// that the SigV4 WebSocket path (and the control plane) accept until they expire.
//
// Permissions follow AWS IoT's rules (docs/iotcore-compatibility.md, "Cognito identities"): an
// unauthenticated identity's credentials carry the IAM policies of the pool's `unauthenticated`
// role; an authenticated identity's carry those of the `authenticated` role AND name the identity
// id, so the broker also requires an IoT policy attached to it (aws iot attach-policy --target
// <identity-id>), read at each action.
//
// Where the stand-in simplifies:
// - it copies the role's policies into the credentials when it issues them (AWS evaluates the
//   role at each request);
// - it cannot validate identity-provider tokens. A `Logins` entry is accepted for a provider the
//   pool names (SupportedLoginProviders, CognitoIdentityProviders, OpenIdConnectProviderARNs)
//   and its token is taken at face value: a JWT's `sub` claim (not verified), otherwise the whole
//   token (kept as its SHA-256), names the user, so the same user always gets the same identity id.
// A pool made by `createIdentityPool` with `policyDocuments` (tests, npm start) uses those
// documents when it has no role.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { newAccessKeyPair } from "../../auth/access-keys.js";
import { AwsError } from "../../registry/errors.js";
import type { Collection } from "../../registry/collection.js";
import type { AccessKeys, OperationHandler } from "../../service.js";

export interface IdentityPoolRecord {
  IdentityPoolId: string;
  IdentityPoolName: string;
  AllowUnauthenticatedIdentities: boolean;
  AllowClassicFlow?: boolean;
  Roles: Record<string, string>;
  /** Policies for a pool without an unauthenticated role (made through createIdentityPool). */
  policyDocuments: string[];
  credentialsLifetimeSeconds: number;
  identities: string[];
  SupportedLoginProviders?: Record<string, string>;
  CognitoIdentityProviders?: { ProviderName?: string; ClientId?: string; ServerSideTokenCheck?: boolean }[];
  OpenIdConnectProviderARNs?: string[];
  /** Authenticated identities: `<provider> <user>` (see subjectOf) to the identity id it was given. */
  logins?: Record<string, string>;
}

export interface CognitoHost {
  pools: Collection<IdentityPoolRecord>;
  accessKeys: AccessKeys;
  region: string;
  accountId: string;
  /** The inline policies of an IAM role, or undefined when there is no such role. */
  rolePolicies(roleArn: string): string[] | undefined;
  nowMs(): number;
  log(line: string): void;
}

export interface CreatePoolOptions {
  name: string;
  allowUnauthenticated?: boolean;
  /** IoT policy documents (JSON text or objects) for the pool's identities when it has no role. */
  policyDocuments?: (string | object)[];
  /** Default 3600 (what Cognito issues). */
  credentialsLifetimeSeconds?: number;
}

// Cognito answers every client error with HTTP 400.
const refuse = (code: string, message: string): never => { throw new AwsError(code, message, 400); };

const POOL_NAME = /^[\w ]{1,128}$/;
const POOL_ID = /^[\w-]+:[0-9a-f-]+$/;

export class IdentityPools {
  constructor(private readonly host: CognitoHost) {}

  /** Creates a pool and returns its id `<region>:<uuid>`. */
  createPool(options: CreatePoolOptions): string {
    return this.create({
      IdentityPoolName: options.name, AllowUnauthenticatedIdentities: options.allowUnauthenticated ?? true,
    }, (options.policyDocuments ?? []).map((d) => (typeof d === "string" ? d : JSON.stringify(d))), options.credentialsLifetimeSeconds).IdentityPoolId;
  }

  /** The JSON 1.1 operations, by the model's names. */
  operations(): Record<string, OperationHandler> {
    return {
      CreateIdentityPool: (input) => describe(this.create(input, [])),
      DescribeIdentityPool: (input) => describe(this.pool(input.IdentityPoolId)),
      ListIdentityPools: (input) => {
        const max = Number(input.MaxResults);
        if (!Number.isInteger(max) || max < 1 || max > 60) refuse("InvalidParameterException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60");
        const all = this.host.pools.list();
        const start = input.NextToken ? Number(input.NextToken) : 0;
        if (!Number.isInteger(start) || start < 0) refuse("InvalidParameterException", "NextToken is not one this service issued");
        const page = all.slice(start, start + max);
        return {
          IdentityPools: page.map((p) => ({ IdentityPoolId: p.IdentityPoolId, IdentityPoolName: p.IdentityPoolName })),
          ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
        };
      },
      DeleteIdentityPool: (input) => {
        const pool = this.pool(input.IdentityPoolId);
        this.host.pools.delete(pool.IdentityPoolId);
        this.host.log(`cognito ${pool.IdentityPoolId}: deleted`);
      },
      SetIdentityPoolRoles: (input) => {
        const pool = this.pool(input.IdentityPoolId);
        const roles: Record<string, string> = {};
        for (const [kind, arn] of Object.entries((input.Roles ?? {}) as Record<string, unknown>)) {
          if (kind !== "authenticated" && kind !== "unauthenticated") refuse("InvalidParameterException", `Roles key '${kind}' must be authenticated or unauthenticated`);
          if (typeof arn !== "string" || !/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(arn)) refuse("InvalidParameterException", `Roles.${kind} '${String(arn)}' is not an IAM role ARN`);
          roles[kind] = arn as string;
        }
        this.host.pools.put(pool.IdentityPoolId, { ...pool, Roles: roles });
        this.host.log(`cognito ${pool.IdentityPoolId}: roles ${Object.entries(roles).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}`);
      },
      GetIdentityPoolRoles: (input) => {
        const pool = this.pool(input.IdentityPoolId);
        return { IdentityPoolId: pool.IdentityPoolId, Roles: pool.Roles };
      },
      GetId: (input) => this.getId(input),
      GetCredentialsForIdentity: (input) => this.getCredentials(input),
    };
  }

  private create(input: Record<string, unknown>, policyDocuments: string[], lifetimeSeconds = 3600): IdentityPoolRecord {
    const name = input.IdentityPoolName;
    if (typeof name !== "string" || !POOL_NAME.test(name)) refuse("InvalidParameterException", `IdentityPoolName '${String(name)}' must be 1-128 of [\\w ]`);
    if (typeof input.AllowUnauthenticatedIdentities !== "boolean") refuse("InvalidParameterException", "AllowUnauthenticatedIdentities (true or false) is required");
    const record: IdentityPoolRecord = {
      IdentityPoolId: `${this.host.region}:${randomUUID()}`, IdentityPoolName: name as string,
      AllowUnauthenticatedIdentities: input.AllowUnauthenticatedIdentities as boolean,
      ...(typeof input.AllowClassicFlow === "boolean" ? { AllowClassicFlow: input.AllowClassicFlow } : {}),
      ...providers(input),
      Roles: {}, policyDocuments, credentialsLifetimeSeconds: lifetimeSeconds, identities: [],
    };
    this.host.pools.put(record.IdentityPoolId, record);
    this.host.log(`cognito ${record.IdentityPoolId}: pool ${record.IdentityPoolName} created (unauthenticated identities ${record.AllowUnauthenticatedIdentities ? "allowed" : "refused"})`);
    return record;
  }

  private getId(input: Record<string, unknown>) {
    const pool = this.pool(input.IdentityPoolId);
    const users = this.loginsOf(pool, input.Logins);
    if (users.length > 0) {
      const known = users.map((u) => pool.logins?.[u]).find((id) => id !== undefined);
      if (known) return { IdentityId: known };
      const IdentityId = `${this.host.region}:${randomUUID()}`;
      const logins = { ...pool.logins };
      for (const u of users) logins[u] = IdentityId;
      this.host.pools.put(pool.IdentityPoolId, { ...pool, identities: [...pool.identities, IdentityId], logins });
      this.host.log(`cognito ${pool.IdentityPoolId}: authenticated identity ${IdentityId} created for a login of ${Object.keys(input.Logins as object).join(", ")} (provider token not verified by the stand-in)`);
      return { IdentityId };
    }
    if (!pool.AllowUnauthenticatedIdentities) refuse("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.");
    const IdentityId = `${this.host.region}:${randomUUID()}`;
    this.host.pools.put(pool.IdentityPoolId, { ...pool, identities: [...pool.identities, IdentityId] });
    this.host.log(`cognito ${pool.IdentityPoolId}: identity ${IdentityId} created`);
    return { IdentityId };
  }

  private getCredentials(input: Record<string, unknown>) {
    const IdentityId = String(input.IdentityId ?? "");
    const pool = this.host.pools.list().find((p) => p.identities.includes(IdentityId));
    if (!pool) return refuse("ResourceNotFoundException", `Identity '${IdentityId}' not found.`);
    const users = this.loginsOf(pool, input.Logins);
    const own = Object.entries(pool.logins ?? {}).filter(([, id]) => id === IdentityId).map(([u]) => u);
    const authenticated = own.length > 0;
    if (authenticated && !users.some((u) => own.includes(u))) {
      refuse("NotAuthorizedException", `Identity '${IdentityId}' is authenticated: send one of its logins in Logins (provider name to token)`);
    }
    if (!authenticated && users.length > 0) {
      refuse("NotAuthorizedException", `Identity '${IdentityId}' is unauthenticated: call GetId with these Logins for an authenticated identity`);
    }
    const kind = authenticated ? "authenticated" : "unauthenticated";
    const role = pool.Roles[kind];
    let policyDocuments = pool.policyDocuments;
    if (role) {
      const policies = this.host.rolePolicies(role);
      if (!policies) refuse("InvalidIdentityPoolConfigurationException", `Invalid identity pool configuration. Check assigned IAM roles for this pool: role ${role} does not exist.`);
      policyDocuments = policies!;
    } else if (policyDocuments.length === 0) {
      refuse("InvalidIdentityPoolConfigurationException", `Invalid identity pool configuration. Check assigned IAM roles for this pool: it has no ${kind} role (set-identity-pool-roles --roles ${kind}=<role ARN>).`);
    }
    const expiresAtMs = this.host.nowMs() + pool.credentialsLifetimeSeconds * 1000;
    const issued = this.host.accessKeys.add({
      ...newAccessKeyPair("ASIA"), sessionToken: randomBytes(96).toString("base64"),
      expiresAtMs, principal: IdentityId, policyDocuments, ...(authenticated ? { iotPolicyTarget: IdentityId } : {}),
    });
    this.host.log(`cognito ${pool.IdentityPoolId}: credentials ${issued.accessKeyId} for ${kind} ${IdentityId} until ${new Date(expiresAtMs).toISOString()}${role ? ` (role ${role})` : ""}${authenticated ? "; IoT policies attached to the identity must also allow" : ""}`);
    return {
      IdentityId,
      Credentials: { AccessKeyId: issued.accessKeyId, SecretKey: issued.secretAccessKey, SessionToken: issued.sessionToken, Expiration: Math.floor(expiresAtMs / 1000) },
    };
  }

  /**
   * The users a `Logins` map names, as `<provider> <user>`; empty when there is none. A provider
   * the pool does not name is refused; the token is not verified (see the header).
   */
  private loginsOf(pool: IdentityPoolRecord, logins: unknown): string[] {
    if (logins === undefined || logins === null) return [];
    if (typeof logins !== "object" || Array.isArray(logins)) return refuse("InvalidParameterException", "Logins must be a map of provider name to token");
    const configured = new Set([
      ...Object.keys(pool.SupportedLoginProviders ?? {}),
      ...(pool.CognitoIdentityProviders ?? []).map((p) => p.ProviderName ?? ""),
      ...(pool.OpenIdConnectProviderARNs ?? []).map((arn) => arn.replace(/^arn:aws:iam::\d{12}:oidc-provider\//, "")),
    ]);
    return Object.entries(logins as Record<string, unknown>).map(([provider, token]) => {
      if (typeof token !== "string" || token.length === 0) return refuse("InvalidParameterException", `Logins.${provider} must be a token`);
      if (!configured.has(provider)) return refuse("NotAuthorizedException", `Invalid login token. Login provider '${provider}' is not configured for identity pool ${pool.IdentityPoolId} (create-identity-pool --supported-login-providers, --cognito-identity-providers or --open-id-connect-provider-arns)`);
      return `${provider} ${subjectOf(token)}`;
    });
  }

  private pool(id: unknown): IdentityPoolRecord {
    if (typeof id !== "string" || !POOL_ID.test(id)) return refuse("InvalidParameterException", `IdentityPoolId '${String(id)}' is not an identity pool id (<region>:<uuid>)`);
    const pool = this.host.pools.get(id);
    if (!pool) return refuse("ResourceNotFoundException", `IdentityPool '${id}' not found.`);
    return pool;
  }
}

function describe(p: IdentityPoolRecord) {
  return {
    IdentityPoolId: p.IdentityPoolId, IdentityPoolName: p.IdentityPoolName, AllowUnauthenticatedIdentities: p.AllowUnauthenticatedIdentities,
    ...(p.AllowClassicFlow !== undefined ? { AllowClassicFlow: p.AllowClassicFlow } : {}),
    ...providers(p as unknown as Record<string, unknown>),
  };
}

/** The identity providers a CreateIdentityPool input (or a pool record) names. */
function providers(input: Record<string, unknown>): Pick<IdentityPoolRecord, "SupportedLoginProviders" | "CognitoIdentityProviders" | "OpenIdConnectProviderARNs"> {
  const out: ReturnType<typeof providers> = {};
  const supported = input.SupportedLoginProviders;
  if (supported !== undefined) {
    if (typeof supported !== "object" || supported === null || Object.values(supported).some((v) => typeof v !== "string")) refuse("InvalidParameterException", "SupportedLoginProviders must map provider names to app ids");
    out.SupportedLoginProviders = supported as Record<string, string>;
  }
  const cognito = input.CognitoIdentityProviders;
  if (cognito !== undefined) {
    if (!Array.isArray(cognito) || cognito.some((p) => typeof p?.ProviderName !== "string")) refuse("InvalidParameterException", "CognitoIdentityProviders must be a list of {ProviderName, ClientId}");
    out.CognitoIdentityProviders = cognito as IdentityPoolRecord["CognitoIdentityProviders"];
  }
  const oidc = input.OpenIdConnectProviderARNs;
  if (oidc !== undefined) {
    if (!Array.isArray(oidc) || oidc.some((a) => typeof a !== "string")) refuse("InvalidParameterException", "OpenIdConnectProviderARNs must be a list of ARNs");
    out.OpenIdConnectProviderARNs = oidc as string[];
  }
  return out;
}

/**
 * The user a provider token names: a JWT's `sub` claim, read without verifying it, else the
 * token's SHA-256 (tokens are secrets: never stored or logged as they are).
 */
function subjectOf(token: string): string {
  const parts = token.split(".");
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as { sub?: unknown };
      if (typeof claims.sub === "string" && claims.sub.length > 0) return claims.sub;
    } catch {
      // not a JWT: the token itself names the user
    }
  }
  return `sha256:${createHash("sha256").update(token).digest("hex")}`;
}

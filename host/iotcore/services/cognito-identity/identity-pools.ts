// Cognito identity pools as AWS serves them (JSON 1.1, X-Amz-Target AWSCognitoIdentityService.*):
// pools, their roles, unauthenticated identities, and temporary credentials that the SigV4
// WebSocket path (and the control plane) accept until they expire.
//
// Permissions follow AWS's rules for unauthenticated identities: the credentials carry the
// policies of the pool's `unauthenticated` IAM role (set-identity-pool-roles, the role's
// inline policies from put-role-policy). The stand-in simplifies: it copies the role's policies
// into the credentials when it issues them (AWS evaluates the role at each request), and it does
// not serve authenticated identities (Logins), so IoT policies attached to an identity are not
// consulted here. A pool made by `createIdentityPool` with `policyDocuments` (tests, npm start)
// uses those documents when it has no role.
import { randomBytes, randomUUID } from "node:crypto";
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
      Roles: {}, policyDocuments, credentialsLifetimeSeconds: lifetimeSeconds, identities: [],
    };
    this.host.pools.put(record.IdentityPoolId, record);
    this.host.log(`cognito ${record.IdentityPoolId}: pool ${record.IdentityPoolName} created (unauthenticated identities ${record.AllowUnauthenticatedIdentities ? "allowed" : "refused"})`);
    return record;
  }

  private getId(input: Record<string, unknown>) {
    const pool = this.pool(input.IdentityPoolId);
    if (input.Logins && typeof input.Logins === "object" && Object.keys(input.Logins).length > 0) {
      refuse("NotAuthorizedException", "authenticated identities (Logins) are not served by this stand-in: use unauthenticated identities");
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
    const role = pool.Roles.unauthenticated;
    let policyDocuments = pool.policyDocuments;
    if (role) {
      const policies = this.host.rolePolicies(role);
      if (!policies) refuse("InvalidIdentityPoolConfigurationException", `Invalid identity pool configuration. Check assigned IAM roles for this pool: role ${role} does not exist.`);
      policyDocuments = policies!;
    } else if (policyDocuments.length === 0) {
      refuse("InvalidIdentityPoolConfigurationException", "Invalid identity pool configuration. Check assigned IAM roles for this pool.");
    }
    const expiresAtMs = this.host.nowMs() + pool.credentialsLifetimeSeconds * 1000;
    const issued = this.host.accessKeys.add({
      ...newAccessKeyPair("ASIA"), sessionToken: randomBytes(96).toString("base64"),
      expiresAtMs, principal: IdentityId, policyDocuments,
    });
    this.host.log(`cognito ${pool.IdentityPoolId}: credentials ${issued.accessKeyId} for ${IdentityId} until ${new Date(expiresAtMs).toISOString()}${role ? ` (role ${role})` : ""}`);
    return {
      IdentityId,
      Credentials: { AccessKeyId: issued.accessKeyId, SecretKey: issued.secretAccessKey, SessionToken: issued.sessionToken, Expiration: Math.floor(expiresAtMs / 1000) },
    };
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
  };
}

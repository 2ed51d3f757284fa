// A Cognito-identity-style endpoint: identity pools with unauthenticated identities, GetId and
// GetCredentialsForIdentity as the AWS SDKs call them (JSON 1.1, X-Amz-Target), issuing
// temporary credentials that the SigV4 WebSocket path accepts until they expire.

import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Collection } from "../registry/collection.js";
import type { IamCredentials } from "../auth/iam-credentials.js";
import type { OperationInput } from "../control/server.js";

export interface IdentityPoolRecord {
  IdentityPoolId: string;
  IdentityPoolName: string;
  AllowUnauthenticatedIdentities: boolean;
  /** IoT policies that govern connections made with this pool's credentials. */
  policyDocuments: string[];
  credentialsLifetimeSeconds: number;
  identities: string[];
}

export interface CognitoHost {
  pools: Collection<IdentityPoolRecord>;
  credentials: IamCredentials;
  region: string;
  nowMs(): number;
  log(line: string): void;
}

export interface CreatePoolOptions {
  name: string;
  allowUnauthenticated?: boolean;
  /** IoT policy documents (JSON text or objects) for the pool's identities. */
  policyDocuments: (string | object)[];
  /** Default 3600 (what Cognito issues). */
  credentialsLifetimeSeconds?: number;
}

/** A Cognito error as the SDK reads it: `__type` and `message`, HTTP 400. */
export class CognitoError extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
  }
}

const TARGET_PREFIX = "AWSCognitoIdentityService.";

export class IdentityPools {
  constructor(private readonly host: CognitoHost) {}

  /** Creates a pool and returns its id `<region>:<uuid>`. */
  createPool(options: CreatePoolOptions): string {
    const IdentityPoolId = `${this.host.region}:${randomUUID()}`;
    this.host.pools.put(IdentityPoolId, {
      IdentityPoolId, IdentityPoolName: options.name,
      AllowUnauthenticatedIdentities: options.allowUnauthenticated ?? true,
      policyDocuments: options.policyDocuments.map((d) => (typeof d === "string" ? d : JSON.stringify(d))),
      credentialsLifetimeSeconds: options.credentialsLifetimeSeconds ?? 3600,
      identities: [],
    });
    return IdentityPoolId;
  }

  /** JSON 1.1 operations by name; they throw CognitoError. */
  readonly operations: Record<string, (input: OperationInput) => unknown> = {
    GetId: (input) => this.getId(input),
    GetCredentialsForIdentity: (input) => this.getCredentials(input),
    DescribeIdentityPool: (input) => {
      const { identities: _identities, policyDocuments: _policies, credentialsLifetimeSeconds: _lifetime, ...pool } = this.pool(input.IdentityPoolId);
      return pool;
    },
  };

  /**
   * Serves one HTTP request if it carries an `AWSCognitoIdentityService.*` X-Amz-Target;
   * returns false (and leaves the response alone) for any other request.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = String(req.headers["x-amz-target"] ?? "");
    if (req.method !== "POST" || !target.startsWith(TARGET_PREFIX)) return false;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let status = 200;
      let body: unknown;
      try {
        const name = target.slice(TARGET_PREFIX.length);
        // Own keys only: `AWSCognitoIdentityService.toString` must not reach Object.prototype.
        const operation = Object.hasOwn(this.operations, name) ? this.operations[name] : undefined;
        if (!operation) throw new CognitoError("UnknownOperationException", `operation ${target} is not served here`);
        body = operation(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
      } catch (error) {
        status = 400;
        const type = error instanceof CognitoError ? error.type : error instanceof SyntaxError ? "InvalidParameterException" : "InternalErrorException";
        body = { __type: type, message: (error as Error).message };
        res.setHeader("x-amzn-ErrorType", type);
      }
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() });
      res.end(JSON.stringify(body));
    });
    return true;
  }

  private getId(input: OperationInput) {
    const pool = this.pool(input.IdentityPoolId);
    if (input.Logins && Object.keys(input.Logins).length > 0) {
      throw new CognitoError("NotAuthorizedException", "authenticated identities (Logins) are not served by this endpoint: use unauthenticated identities");
    }
    if (!pool.AllowUnauthenticatedIdentities) throw new CognitoError("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.");
    const IdentityId = `${this.host.region}:${randomUUID()}`;
    this.host.pools.put(pool.IdentityPoolId, { ...pool, identities: [...pool.identities, IdentityId] });
    this.host.log(`cognito ${pool.IdentityPoolId}: identity ${IdentityId} created`);
    return { IdentityId };
  }

  private getCredentials(input: OperationInput) {
    const IdentityId = String(input.IdentityId ?? "");
    const pool = this.host.pools.list().find((p) => p.identities.includes(IdentityId));
    if (!pool) throw new CognitoError("ResourceNotFoundException", `Identity '${IdentityId}' not found.`);
    const expiresAtMs = this.host.nowMs() + pool.credentialsLifetimeSeconds * 1000;
    const issued = this.host.credentials.add({
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(96).toString("base64"),
      expiresAtMs, principal: IdentityId, policyDocuments: pool.policyDocuments,
    });
    this.host.log(`cognito ${pool.IdentityPoolId}: credentials ${issued.accessKeyId} for ${IdentityId} until ${new Date(expiresAtMs).toISOString()}`);
    return {
      IdentityId,
      Credentials: {
        AccessKeyId: issued.accessKeyId, SecretKey: issued.secretAccessKey, SessionToken: issued.sessionToken,
        Expiration: Math.floor(expiresAtMs / 1000),
      },
    };
  }

  private pool(id: unknown): IdentityPoolRecord {
    const pool = this.host.pools.get(String(id ?? ""));
    if (!pool) throw new CognitoError("ResourceNotFoundException", `IdentityPool '${String(id)}' not found.`);
    return pool;
  }
}

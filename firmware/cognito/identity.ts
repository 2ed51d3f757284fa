// Temporary AWS credentials from a Cognito identity pool (unauthenticated identities), as
// seed 003 gets them with boto3: GetId once (the identity id is kept in storage so the
// device keeps its identity across reboots), then GetCredentialsForIdentity whenever the
// credentials in hand are missing or within `refreshMarginMs` of expiring.

import { failure, type Failure } from "../platform/failure.js";
import type { Platform } from "../platform/seam.js";
import type { SigV4Credentials } from "../sigv4/presign.js";
import { httpsPost, type HttpsTarget } from "./https.js";

export interface CognitoOptions {
  identityPoolId: string;
  /** Default: `cognito-identity.<pool region>.amazonaws.com`. */
  endpoint?: string;
  /** Address to dial when it is not `endpoint` itself (a local stand-in); `endpoint` stays the SNI. */
  address?: string;
  port?: number;
  trustedCa: Uint8Array[];
  /** Refresh credentials this long before they expire; default 5 minutes. */
  refreshMarginMs?: number;
}

const STORAGE_KEY = "cognitoId";

type Done = (credentials: SigV4Credentials | Failure) => void;

export class CognitoCredentials {
  #platform: Pick<Platform, "openTransport" | "timers" | "clock" | "storage" | "log">;
  #options: CognitoOptions;
  #target: HttpsTarget;
  #current: SigV4Credentials | undefined;

  constructor(platform: Pick<Platform, "openTransport" | "timers" | "clock" | "storage" | "log">, options: CognitoOptions) {
    this.#platform = platform;
    this.#options = options;
    const name = options.endpoint ?? `cognito-identity.${options.identityPoolId.split(":")[0]}.amazonaws.com`;
    this.#target = { host: options.address ?? name, serverName: name, port: options.port ?? 443, trustedCa: options.trustedCa };
  }

  /**
   * Calls `done` with credentials valid for at least the refresh margin, fetching new ones
   * first when needed; or with a Failure: the transport's (TLS) failure, an HTTP failure,
   * "cognito-request-failed" (AWS's error type and message), "cognito-answer-invalid".
   */
  get(done: Done): void {
    const { storage } = this.#platform;
    const current = this.#current;
    if (current && current.expiration! - this.#platform.clock.now() > (this.#options.refreshMarginMs ?? 300_000)) return done(current);
    const stored = storage.get(STORAGE_KEY);
    if (typeof stored === "string" && stored) return this.#credentialsFor(stored, done);
    this.#call("GetId", { IdentityPoolId: this.#options.identityPoolId }, done, (json) => {
      const id = json.IdentityId;
      if (typeof id !== "string") return false;
      storage.set(STORAGE_KEY, id);
      this.#credentialsFor(id, done);
    });
  }

  #credentialsFor(identityId: string, done: Done): void {
    this.#call("GetCredentialsForIdentity", { IdentityId: identityId }, done, (json) => {
      const c = json.Credentials as Record<string, unknown> | undefined;
      if (!c || typeof c.AccessKeyId !== "string" || typeof c.SecretKey !== "string" || typeof c.SessionToken !== "string" || typeof c.Expiration !== "number") return false;
      this.#current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration * 1000 };
      this.#platform.log(`cognito: temporary credentials valid until ${new Date(this.#current.expiration!).toISOString()}`);
      done(this.#current);
    });
  }

  /** Calls `use` with a 200 answer's JSON (false from it: fields missing); `done` with any Failure. */
  #call(operation: string, request: object, done: Done, use: (json: Record<string, unknown>) => false | void): void {
    const invalid = failure("cognito-answer-invalid", `Cognito ${operation} answered without the expected fields: check the endpoint.`, true);
    this.#platform.log(`cognito: ${operation}`);
    const headers: [string, string][] = [["Content-Type", "application/x-amz-json-1.1"], ["X-Amz-Target", "AWSCognitoIdentityService." + operation]];
    httpsPost(this.#platform, this.#target, "/", headers, JSON.stringify(request), (answer) => {
      if ("code" in answer) return done(answer);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(answer.body);
      } catch {
        return done(invalid);
      }
      if (answer.status === 200) {
        if (use(json) === false) done(invalid);
        return;
      }
      const type = String(json.__type ?? "").replace(/^.*#/, "") || `HTTP ${answer.status}`;
      // A deleted or foreign identity: forget it so that the next attempt asks for a new one.
      if (/ResourceNotFound|NotAuthorized/.test(type)) this.#platform.storage.remove(STORAGE_KEY);
      done(failure("cognito-request-failed", `Cognito ${operation} failed: ${type}: ${json.message ?? json.Message ?? ""}; check the identity pool allows unauthenticated identities.`, answer.status >= 500 || /Throttl|TooManyRequests/.test(type)));
    });
  }
}

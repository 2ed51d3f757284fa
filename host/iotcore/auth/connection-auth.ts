// Authenticates connections that carry no client certificate: MQTT with ALPN `mqtt` (custom
// authorizer), and MQTT over WebSocket (SigV4 presigned URL checked at the upgrade, custom
// authorizer at CONNECT, since AWS hands the function the client id).

import { fail, ok, type Result } from "../../../firmware/platform/failure.js";
import type { AuthorizerInput, Authorizers } from "./authorizers.js";
import { fromHttpRequest, fromMqttUsername } from "./custom-request.js";
import type { AccessKeys } from "../service.js";
import { verifyPresignedUrl } from "./sigv4.js";

/** Who a connection is, and the IoT policies that govern it. */
export interface ConnectionPrincipal {
  kind: "custom-authorizer" | "iam";
  /** principalId from the authorizer, or the identity/user the access key belongs to. */
  principalId: string;
  policyDocuments: string[];
  /** Connection lifetime the authorizer set (already scaled by `lifetimeScale`). */
  disconnectAfterMs?: number;
  /** For the log: "authorizer test" or "access key ASIA...". */
  via: string;
  /** An authenticated Cognito identity's id: IoT policies attached to it must allow each action too. */
  iotPolicyTarget?: string;
}

export interface UpgradeRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ConnectAttempt {
  serverName?: string;
  /** Absent for an HTTPS request (HTTPS publish has no client id, and no MQTT data reaches the function). */
  clientId?: string;
  username?: string;
  password?: Uint8Array;
  /** Present for MQTT over WebSocket: the upgrade request. */
  upgrade?: UpgradeRequest;
  connectionId: string;
}

/** A custom domain's authorizer settings (domain configurations are the IoT service's). */
export interface DomainAuthorizerConfig { defaultAuthorizerName?: string; allowAuthorizerOverride?: boolean }

export interface ConnectionAuthOptions {
  region: string;
  authorizers: Authorizers;
  /** The authorizer settings of the enabled custom domain serving `serverName`, if one does. */
  domainFor(serverName: string | undefined): { authorizerConfig?: DomainAuthorizerConfig } | undefined;
  credentials: Pick<AccessKeys, "lookup">;
  nowMs(): number;
  /** Name of the authorizer set by SetDefaultAuthorizer for the default endpoint. */
  defaultAuthorizerName?(): string | undefined;
  /** Multiplies disconnectAfterInSeconds (tests shorten 300 s). Default 1. */
  lifetimeScale?: number;
}

export type UpgradeDecision = { kind: "sigv4"; principal: ConnectionPrincipal } | { kind: "custom-auth" };

export class ConnectionAuth {
  constructor(private readonly options: ConnectionAuthOptions) {}

  /**
   * Decides a WebSocket upgrade: a SigV4 presigned URL is verified now; anything else is left
   * to a custom authorizer at CONNECT. Failure codes: those of verifyPresignedUrl.
   */
  async checkUpgrade(request: UpgradeRequest): Promise<Result<UpgradeDecision>> {
    if (!/[?&]X-Amz-Algorithm=/i.test(request.url)) return ok({ kind: "custom-auth" });
    const verified = await verifyPresignedUrl(request, {
      region: this.options.region, nowMs: this.options.nowMs(), lookup: (id) => this.options.credentials.lookup(id),
    });
    if (!verified.ok) return verified;
    const c = verified.value;
    return ok({ kind: "sigv4", principal: { kind: "iam", principalId: c.principal, policyDocuments: c.policyDocuments, via: `access key ${c.accessKeyId}`,
      ...(c.iotPolicyTarget !== undefined ? { iotPolicyTarget: c.iotPolicyTarget } : {}) } });
  }

  /**
   * Runs the custom authorizer a connection names (or its domain's default). Failure codes:
   * "authorizer-missing", "authorizer-unknown", and those of Authorizers.run.
   */
  async authenticateCustom(attempt: ConnectAttempt): Promise<Result<ConnectionPrincipal>> {
    const sent = attempt.upgrade ? fromHttpRequest(attempt.upgrade.headers, attempt.upgrade.url) : fromMqttUsername(attempt.username);
    const name = this.chooseAuthorizer(attempt.serverName, sent.authorizerName);
    if (!name) return fail("authorizer-missing", "no x-amz-customauthorizer-name was sent and the domain has no default authorizer");
    const authorizer = this.options.authorizers.get(name);
    if (!authorizer) return fail("authorizer-unknown", `authorizer ${name} does not exist: create-authorizer first`);
    const token = authorizer.tokenKeyName ? sent.value(authorizer.tokenKeyName) : undefined;
    const input: AuthorizerInput = {
      connectionId: attempt.connectionId,
      ...(token !== undefined ? { token } : {}),
      ...(sent.signature !== undefined ? { signature: sent.signature } : {}),
      ...(attempt.serverName ? { serverName: attempt.serverName } : {}),
      ...(attempt.upgrade ? { http: httpContext(attempt.upgrade) } : {}),
      ...(attempt.clientId === undefined ? {} : {
        mqtt: {
          clientId: attempt.clientId,
          ...(attempt.username !== undefined ? { username: attempt.username } : {}),
          ...(attempt.password !== undefined ? { password: attempt.password } : {}),
        },
      }),
    };
    const decision = await this.options.authorizers.run(authorizer, input);
    if (!decision.ok) return decision;
    const d = decision.value;
    return ok({
      kind: "custom-authorizer", principalId: d.principalId, policyDocuments: d.policyDocuments, via: `authorizer ${name}`,
      disconnectAfterMs: Math.round(d.disconnectAfterSeconds * 1000 * (this.options.lifetimeScale ?? 1)),
    });
  }

  /** A domain's default wins unless it allows override; the default endpoint's likewise. */
  private chooseAuthorizer(serverName: string | undefined, requested: string | undefined): string | undefined {
    const config = this.options.domainFor(serverName)?.authorizerConfig;
    const fallback = config ? config.defaultAuthorizerName : this.options.defaultAuthorizerName?.();
    if (!fallback) return requested;
    if (requested && (config ? config.allowAuthorizerOverride === true : true)) return requested;
    return fallback;
  }
}

function httpContext(upgrade: UpgradeRequest): { headers: Record<string, string>; queryString: string } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upgrade.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const q = upgrade.url.indexOf("?");
  return { headers, queryString: q < 0 ? "" : upgrade.url.slice(q) };
}

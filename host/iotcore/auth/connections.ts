// Authentication of connections without a client certificate: custom authorizers (MQTT with
// ALPN `mqtt`, and WebSocket without a signature) and SigV4 presigned WebSocket URLs. The core
// installs it once; services reach the authorizer records through the IoT API.
import { randomUUID } from "node:crypto";
import type { MqttBroker } from "../dataplane/broker.js";
import type { DataPlaneListeners } from "../dataplane/listeners.js";
import type { Authenticator, AuthOutcome, Principal } from "../dataplane/types.js";
import type { Collection } from "../registry/collection.js";
import { attachedPolicies, type Registry } from "../registry/registry.js";
import type { AccessKeys } from "../service.js";
import type { LogWriter } from "../log.js";
import { Authorizers, type AuthorizerHost, type AuthorizerRecord } from "./authorizers.js";
import { ConnectionAuth, type ConnectionAuthOptions, type ConnectionPrincipal } from "./connection-auth.js";
import { MqttWebSocketEndpoint } from "./websocket-endpoint.js";

export interface ConnectionAuthSetup {
  registry: Registry;
  broker: MqttBroker;
  listeners: DataPlaneListeners;
  accessKeys: AccessKeys;
  /** Runs an authorizer's Lambda function. */
  functions: AuthorizerHost["functions"];
  /** The authorizer settings of a custom domain (the IoT service's domain configurations). */
  domainFor: ConnectionAuthOptions["domainFor"];
  now(): number;
  log: LogWriter;
  /** Multiplies an authorizer's disconnectAfterInSeconds (tests: 0.001 turns 300 s into 0.3 s). */
  lifetimeScale?: number;
}

export interface ConnectionAuthentication {
  authorizers: Authorizers;
  /** The default endpoint's authorizer (SetDefaultAuthorizer). */
  defaultAuthorizer: Collection<{ authorizerName: string }>;
  websocket: MqttWebSocketEndpoint;
  /** Custom authorizers and SigV4 for connections without a client certificate (HTTPS publish uses them too). */
  connections: ConnectionAuth;
  close(): void;
}

export function installConnectionAuth(o: ConnectionAuthSetup): ConnectionAuthentication {
  const { registry, broker, listeners, log } = o;
  const nowMs = () => o.now();
  const authorizers = new Authorizers({ records: registry.collection<AuthorizerRecord>("authorizers"), arn: (r) => registry.arn(r), functions: o.functions, nowMs, log });
  const defaultAuthorizer = registry.collection<{ authorizerName: string }>("default-authorizer");
  const auth = new ConnectionAuth({
    region: registry.region, authorizers, domainFor: o.domainFor, credentials: o.accessKeys, nowMs,
    defaultAuthorizerName: () => defaultAuthorizer.get("default")?.authorizerName,
    ...(o.lifetimeScale !== undefined ? { lifetimeScale: o.lifetimeScale } : {}),
  });
  const websocket = new MqttWebSocketEndpoint({ auth, serveMqtt: (stream, info) => broker.handle(stream, info), log });
  const customAuth: Authenticator = async (attempt) => {
    const presigned = websocket.presignedPrincipal(attempt.httpRequest);
    if (presigned) return accepted(presigned, registry);
    const result = await auth.authenticateCustom({
      clientId: attempt.clientId, connectionId: randomUUID(),
      ...(attempt.serverName ? { serverName: attempt.serverName } : {}),
      ...(attempt.username !== undefined ? { username: attempt.username } : {}),
      ...(attempt.password !== undefined ? { password: attempt.password } : {}),
      ...(attempt.httpRequest ? { upgrade: { method: attempt.httpRequest.method ?? "GET", url: attempt.httpRequest.url ?? "", headers: attempt.httpRequest.headers } } : {}),
    });
    return result.ok ? accepted(result.value, registry) : { ok: false, refuse: 5, reason: `${result.failure.code}: ${result.failure.message}` };
  };
  broker.authenticators.set("mqtt-custom-auth", customAuth);
  broker.authenticators.set("websocket", customAuth);
  listeners.onUpgrade(websocket.upgrade);
  return { authorizers, defaultAuthorizer, websocket, connections: auth, close: () => websocket.close() };
}

function accepted(p: ConnectionPrincipal, registry: Registry): AuthOutcome {
  const target = p.iotPolicyTarget;
  const principal: Principal = {
    kind: p.kind === "iam" ? "sigv4" : "custom-authorizer", id: p.principalId, policies: p.policyDocuments,
    ...(p.disconnectAfterMs !== undefined ? { disconnectAfterMs: p.disconnectAfterMs } : {}),
    ...(p.kind === "iam" && /^[\w-]+:[0-9a-f-]{36}$/.test(p.principalId) ? { variables: { "cognito-identity.amazonaws.com:sub": p.principalId } } : {}),
    ...(target !== undefined ? {
      attachedPolicies: () => attachedPolicies(registry, target),
    } : {}),
  };
  return { ok: true, principal, note: p.via };
}

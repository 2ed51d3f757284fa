// Wires the connections without client certificates into the stand-in: custom authorizers
// (MQTT with ALPN `mqtt`, WebSocket), SigV4 WebSocket, domain configurations served by SNI,
// the Cognito-identity endpoint, local functions and topic rules. The core calls
// installAuthExtensions once after creating its registry, broker, listeners and control plane.

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ControlPlane, OperationInput } from "../control/server.js";
import type { MqttBroker } from "../dataplane/broker.js";
import type { DataPlaneListeners } from "../dataplane/listeners.js";
import type { Authenticator, AuthOutcome, Principal } from "../dataplane/types.js";
import { IdentityPools, type CreatePoolOptions, type IdentityPoolRecord } from "../cognito/identity-pools.js";
import { DomainConfigurations, type DomainConfigurationRecord, type ServerCertificateRecord } from "../domains/domain-configurations.js";
import { serverCertificateIssuer } from "../domains/server-certificate-issuer.js";
import { LocalFunctions } from "../functions/local-functions.js";
import { AwsError, notFound } from "../registry/errors.js";
import type { Registry } from "../registry/registry.js";
import { TopicRules, type TopicRuleRecord } from "../rules/topic-rules.js";
import { Authorizers, type AuthorizerRecord } from "./authorizers.js";
import { ConnectionAuth, type ConnectionPrincipal } from "./connection-auth.js";
import { IamCredentials } from "./iam-credentials.js";
import type { KnownCredentials } from "./sigv4.js";
import { MqttWebSocketEndpoint } from "./websocket-endpoint.js";
import type { LogWriter } from "../log.js";

export interface AuthExtensionOptions {
  stateDir: string;
  registry: Registry;
  broker: MqttBroker;
  listeners: DataPlaneListeners;
  control: ControlPlane;
  /** The stand-in's server CA (PEM) and its key, to issue certificates for further names. */
  serverCa: { certPem: string; keyPem: string };
  /** The control plane's URL, handed to functions as AWS_ENDPOINT_URL_IOT (known after listen). */
  controlUrl(): string;
  now(): number;
  log: LogWriter;
  /** Multiplies an authorizer's disconnectAfterInSeconds (tests: 0.001 turns 300 s into 0.3 s). */
  authorizerLifetimeScale?: number;
  /** A function's time limit in ms (default 5000, an authorizer's limit on AWS). */
  functionTimeoutMs?: number;
}

/** What tests and the CLI reach through `core.auth`. */
export interface AuthExtensions {
  functions: LocalFunctions;
  authorizers: Authorizers;
  domains: DomainConfigurations;
  identityPools: IdentityPools;
  credentials: IamCredentials;
  rules: TopicRules;
  websocket: MqttWebSocketEndpoint;
  /** Custom authorizers and SigV4 for connections without a client certificate (HTTPS publish uses them too). */
  connections: ConnectionAuth;
  /** `cognito-identity.<region>.amazonaws.com`: served on the 443 listener by SNI. */
  cognitoHost: string;
  /** Creates an identity pool with unauthenticated identities; returns its id. */
  createIdentityPool(options: CreatePoolOptions): string;
  /** Adds long-term access keys for SigV4 WebSocket connections, governed by these policies. */
  addAccessKey(credentials: Omit<KnownCredentials, "sessionToken" | "expiresAtMs">): void;
  /** Serves Cognito JSON 1.1 requests on another HTTP server (the control port); false if not one. */
  handleCognito(request: IncomingMessage, response: ServerResponse): boolean;
  close(): Promise<void>;
}

export async function installAuthExtensions(o: AuthExtensionOptions): Promise<AuthExtensions> {
  const { registry, broker, listeners, control, log } = o;
  const nowMs = () => o.now();
  const arn = (resource: string) => registry.arn(resource);
  const issue = serverCertificateIssuer(o.serverCa.certPem, o.serverCa.keyPem);
  const functions = new LocalFunctions({
    stateDir: o.stateDir, region: registry.region, accountId: registry.accountId, log,
    ...(o.functionTimeoutMs !== undefined ? { timeoutMs: o.functionTimeoutMs } : {}),
    environment: () => ({ AWS_ENDPOINT_URL_IOT: o.controlUrl() }),
  });
  const authorizers = new Authorizers({ records: registry.collection<AuthorizerRecord>("authorizers"), arn, functions, nowMs, log });
  const domains = new DomainConfigurations({
    configurations: registry.collection<DomainConfigurationRecord>("domain-configurations"),
    certificates: registry.collection<ServerCertificateRecord>("server-certificates"),
    region: registry.region, accountId: registry.accountId, arn, issueServerCertificate: issue, nowMs, log,
  });
  const credentials = new IamCredentials(registry.collection<KnownCredentials>("access-keys"), nowMs);
  const identityPools = new IdentityPools({ pools: registry.collection<IdentityPoolRecord>("identity-pools"), credentials, region: registry.region, nowMs, log });
  const rules = new TopicRules({ records: registry.collection<TopicRuleRecord>("topic-rules"), arn, functions, nowMs, log });
  const defaults = registry.collection<{ authorizerName: string }>("default-authorizer");
  const auth = new ConnectionAuth({
    region: registry.region, authorizers, domains, credentials, nowMs,
    defaultAuthorizerName: () => defaults.get("default")?.authorizerName,
    ...(o.authorizerLifetimeScale !== undefined ? { lifetimeScale: o.authorizerLifetimeScale } : {}),
  });
  const websocket = new MqttWebSocketEndpoint({ auth, serveMqtt: (stream, info) => broker.handle(stream, info), log });

  // Names served by SNI beyond the default endpoint: enabled custom domains and Cognito.
  const served = new Set<string>();
  const syncDomains = () => {
    const current = new Map(domains.served().map((d) => [d.domainName, d.certificate]));
    for (const name of served) if (!current.has(name)) { listeners.removeServerName(name); served.delete(name); }
    for (const [name, c] of current) {
      if (served.has(name)) continue;
      listeners.addServerName(name, { cert: c.certificatePem + (c.chainPem ?? ""), key: c.privateKeyPem });
      served.add(name);
    }
  };
  syncDomains();
  const cognitoHost = `cognito-identity.${registry.region}.amazonaws.com`;
  const cognitoCert = await issue([cognitoHost]);
  listeners.addServerName(cognitoHost, { cert: cognitoCert.certificatePem + cognitoCert.chainPem, key: cognitoCert.privateKeyPem });

  const customAuth: Authenticator = async (attempt) => {
    const presigned = websocket.presignedPrincipal(attempt.httpRequest);
    if (presigned) return accepted(presigned);
    const result = await auth.authenticateCustom({
      clientId: attempt.clientId, connectionId: randomUUID(),
      ...(attempt.serverName ? { serverName: attempt.serverName } : {}),
      ...(attempt.username !== undefined ? { username: attempt.username } : {}),
      ...(attempt.password !== undefined ? { password: attempt.password } : {}),
      ...(attempt.httpRequest ? { upgrade: { method: attempt.httpRequest.method ?? "GET", url: attempt.httpRequest.url ?? "", headers: attempt.httpRequest.headers } } : {}),
    });
    return result.ok ? accepted(result.value) : { ok: false, refuse: 5, reason: `${result.failure.code}: ${result.failure.message}` };
  };
  broker.authenticators.set("mqtt-custom-auth", customAuth);
  broker.authenticators.set("websocket", customAuth);
  listeners.onUpgrade(websocket.upgrade);
  listeners.onHttpsRequest((request, response) => identityPools.handle(request, response));
  broker.onMessage(({ topic, payload }) => rules.onMessage(topic, payload));

  const domainOperations = domains.operations();
  control.registerAll({
    ...authorizers.operations(),
    ...rules.operations(),
    ...Object.fromEntries(Object.entries(domainOperations).map(([name, run]) => [name, async (input: OperationInput) => {
      const output = await run(input);
      syncDomains();
      return output;
    }])),
    SetDefaultAuthorizer: async ({ authorizerName }: OperationInput) => {
      const a = authorizers.get(String(authorizerName));
      if (!a) throw notFound(`authorizer ${authorizerName}`);
      defaults.put("default", { authorizerName: a.authorizerName });
      return { authorizerName: a.authorizerName, authorizerArn: a.authorizerArn };
    },
    DescribeDefaultAuthorizer: async () => {
      const a = authorizers.get(defaults.get("default")?.authorizerName ?? "");
      if (!a) throw new AwsError("ResourceNotFoundException", "no default authorizer is set");
      return { authorizerDescription: a };
    },
  });

  return {
    functions, authorizers, domains, identityPools, credentials, rules, websocket, cognitoHost, connections: auth,
    createIdentityPool: (options) => identityPools.createPool(options),
    addAccessKey: (c) => void credentials.add(c),
    handleCognito: (request, response) => identityPools.handle(request, response),
    close: async () => {
      websocket.close();
      await rules.settled();
      await functions.close();
    },
  };
}

function accepted(p: ConnectionPrincipal): AuthOutcome {
  const principal: Principal = {
    kind: p.kind === "iam" ? "sigv4" : "custom-authorizer", id: p.principalId, policies: p.policyDocuments,
    ...(p.disconnectAfterMs !== undefined ? { disconnectAfterMs: p.disconnectAfterMs } : {}),
    ...(p.kind === "iam" && /^[\w-]+:[0-9a-f-]{36}$/.test(p.principalId) ? { variables: { "cognito-identity.amazonaws.com:sub": p.principalId } } : {}),
  };
  return { ok: true, principal, note: p.via };
}

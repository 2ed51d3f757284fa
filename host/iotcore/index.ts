// The local AWS IoT Core stand-in: registry, control plane (AWS IoT REST API), TLS data plane
// (MQTT with client certificates, JITP/JITR, policies, quotas), fault injection, and the
// connections without a client certificate (custom authorizers, SigV4 WebSocket, custom
// domains, Cognito, local functions, topic rules: auth/extensions.ts). Tests and tools reach
// further hooks through `control.register`, `dataPlane.*` and `broker.*`.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { ControlPlane, type OperationHandler } from "./control/server.js";
import { loadServiceModel } from "./control/model.js";
import { registryOperations } from "./control/operations.js";
import { MqttBroker } from "./dataplane/broker.js";
import { certificateAuthenticator } from "./dataplane/certificate-auth.js";
import { Faults } from "./dataplane/faults.js";
import { DataPlaneListeners, type HttpsRequestHandler, type ServerKeyMaterial, type UpgradeHandler } from "./dataplane/listeners.js";
import type { Authenticator, ConnectionInfo, Route } from "./dataplane/types.js";
import { loadServerIdentity } from "./pki/server-identity.js";
import { JustInTime } from "./provisioning/just-in-time.js";
import { Registry } from "./registry/registry.js";
import { installAuthExtensions, type AuthExtensions } from "./auth/extensions.js";
import type { SecretLookup } from "./sigv4/sigv4.js";
import { ShadowService } from "./shadow/service.js";
import { ShadowStore } from "./shadow/store.js";
import { consoleRoutes } from "./console/server.js";
import { LogTap, type LogEvent } from "./log.js";
import { HttpsPublishService } from "./https-publish/service.js";
import { installFleetProvisioning, type FleetProvisioning } from "./fleet-provisioning/index.js";

export type { Authenticator, AuthOutcome, ConnectAttempt, ConnectionInfo, Principal, Refusal, Route } from "./dataplane/types.js";
export type { OperationHandler, OperationInput } from "./control/server.js";
export type { HttpsRequestHandler, UpgradeHandler, ServerKeyMaterial } from "./dataplane/listeners.js";
export { AwsError } from "./registry/errors.js";
export { Registry } from "./registry/registry.js";
export { evaluatePolicies } from "./policy/evaluate.js";
export { Faults } from "./dataplane/faults.js";
export { MqttBroker } from "./dataplane/broker.js";
export type { LogEvent, LogFields } from "./log.js";

export interface IotCoreOptions {
  stateDir: string;
  host?: string;                                            // default 127.0.0.1
  ports?: { mqtt?: number; https?: number; httpsMtls?: number; control?: number };  // 0 = ephemeral (default)
  region?: string;                                          // default us-east-1
  accountId?: string;                                       // default 123456789012
  provisioningDelayMs?: number;                             // JITP/JITR work time, default 1000
  log?: (line: string) => void;
  /** verify control-plane SigV4 signatures against these secrets (default: accept any) */
  credentials?: Record<string, string> | SecretLookup;
  /** minimum ms between CONNECTs per client id (AWS: 1000) */
  connectIntervalMs?: number;
  /** multiplies keep-alive timeouts (tests shorten AWS's 1.5x wait) */
  keepAliveScale?: number;
  /** window of the per-connection rates in ms (AWS: 1000 = 100 publishes and 512 KiB per second) */
  rateWindowMs?: number;
  /** how long a disconnected persistent session is kept, in ms (AWS default: 3,600,000 = 1 h) */
  sessionExpiryMs?: number;
  /** log allowed publishes and deliveries too */
  verbose?: boolean;
  now?: () => number;
  /** multiplies custom authorizers' disconnectAfterInSeconds (tests: 0.001 turns 300 s into 0.3 s) */
  authorizerLifetimeScale?: number;
  /** local functions' time limit in ms (default 5000) */
  functionTimeoutMs?: number;
  /** ms a data-plane connection has for its TLS handshake, and then for its CONNECT or HTTP request (default 10,000) */
  connectDeadlineMs?: number;
}

export interface IotCore {
  readonly endpoint: string;
  /** the "8883", "443" and "8443" listeners and the control plane */
  readonly ports: { mqtt: number; https: number; httpsMtls: number; control: number };
  readonly controlUrl: string;
  /** the web console: `<controlUrl>/console/` */
  readonly consoleUrl: string;
  readonly serverCaPem: string;
  readonly region: string;
  readonly accountId: string;
  readonly registry: Registry;
  readonly faults: Faults;
  readonly control: { register(operation: string, handler: OperationHandler): void };
  readonly dataPlane: {
    /** authenticators by route: "mqtt-x509" (certificates), "mqtt-custom-auth" and "websocket" (auth/extensions.ts) */
    readonly authenticators: Map<Route, Authenticator>;
    addServerName(name: string, material: ServerKeyMaterial): void;
    removeServerName(name: string): void;
    onHttpsRequest(handler: HttpsRequestHandler): void;
    onUpgrade(handler: UpgradeHandler): void;
    /** serves MQTT on a stream (e.g. a WebSocket stream) with the given connection facts */
    handleMqttStream(stream: Duplex, info: ConnectionInfo): void;
  };
  readonly broker: MqttBroker;
  /** custom authorizers, domain configurations, SigV4 WebSocket, Cognito identity pools, local functions, topic rules */
  readonly auth: AuthExtensions;
  /** the Device Shadow service (MQTT reserved topics and the iot-data REST API on the 443 listener) */
  readonly shadows: ShadowService;
  /** every log line as an event, with a decision's facts (console/, tests) */
  readonly log: { subscribe(listener: (event: LogEvent) => void): () => void; recent(): LogEvent[] };
  /** fleet provisioning by claim: provisioning templates and the `$aws/certificates/...`, `$aws/provisioning-templates/...` topics */
  readonly fleetProvisioning: FleetProvisioning;
  /** resolves when every JITP/JITR job started so far has finished */
  provisioningIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the stand-in; rejects if a port is taken or the state directory is unusable. */
export async function startIotCore(options: IotCoreOptions): Promise<IotCore> {
  const host = options.host ?? "127.0.0.1";
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "123456789012";
  const now = options.now ?? (() => Date.now());
  const tap = new LogTap(now, options.log ?? (() => undefined));
  const log = tap.write;
  const registry = new Registry({ stateDir: options.stateDir, region, accountId, now, randomHex: (n) => randomBytes(n).toString("hex") });
  const endpoint = `${registry.endpointPrefix()}-ats.iot.${region}.amazonaws.com`;
  const identity = await loadServerIdentity(options.stateDir, endpoint);
  const faults = new Faults(log);
  const broker = await MqttBroker.create({
    scope: { region, accountId }, faults, now, log,
    keepAliveScale: options.keepAliveScale, connectIntervalMs: options.connectIntervalMs, verbose: options.verbose,
    rateWindowMs: options.rateWindowMs, sessionExpiryMs: options.sessionExpiryMs,
    sessionStoreDir: join(options.stateDir, "sessions"), connectDeadlineMs: options.connectDeadlineMs,
  });
  const justInTime = new JustInTime({ registry, delayMs: options.provisioningDelayMs ?? 1000, now, log, publish: (topic, payload) => broker.publish(topic, payload) });
  broker.authenticators.set("mqtt-x509", certificateAuthenticator({ registry, justInTime, now }));

  const listeners = new DataPlaneListeners({
    host, defaultIdentity: { key: identity.keyPem, cert: identity.certPem }, defaultNames: [endpoint, "localhost"], broker, faults, log,
    deadlineMs: options.connectDeadlineMs,
  });
  const dataPorts = await listeners.listen({ mqtt: options.ports?.mqtt ?? 0, https: options.ports?.https ?? 0, httpsMtls: options.ports?.httpsMtls ?? 0 }).catch(async (error: unknown) => {
    await listeners.close();
    await broker.close();   // releases the session store for a later start
    throw error;
  });
  faults.restartHandler = async () => {
    await listeners.close();
    await listeners.listen(dataPorts);
  };

  const verifySignatures = secretLookup(options.credentials);
  const control = new ControlPlane({ model: loadServiceModel("iot-2015-05-28.min.json"), now, log, verifySignatures });
  const operations = registryOperations({ registry, log, endpoint: (type) => endpointFor(type, endpoint, registry.endpointPrefix(), region) });
  control.registerAll(operations);

  const shadows = new ShadowService({ store: new ShadowStore(options.stateDir), now, log, publish: (topic, payload) => broker.publish(topic, payload) });
  broker.onMessage((message) => shadows.handleMessage(message));
  const dataApi = new ControlPlane({ model: loadServiceModel("iot-data-2015-05-28.min.json"), now, log, verifySignatures });
  dataApi.registerAll(shadows.operations());
  listeners.onHttpsRequest((request, response) => {
    if (!/^\/(things\/[^/?]+\/shadow|api\/things\/shadow\/)/.test(request.url ?? "")) return false;
    dataApi.listener(request, response);
    return true;
  });
  control.register("DeleteThing", async (input, caller) => {
    operations.DeleteThing(input, caller);
    await shadows.deleteThing(input.thingName);
  });
  control.register("UpdateCertificate", (input, caller) => {
    const result = operations.UpdateCertificate(input, caller);
    if (input.newStatus !== "ACTIVE") broker.disconnectWhere((p) => p.certificateId === input.certificateId, `certificate is now ${input.newStatus}`);
    return result;
  });
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let controlPort = 0;
  const auth = await installAuthExtensions({
    stateDir: options.stateDir, registry, broker, listeners, control, now, log,
    serverCa: { certPem: identity.caPem, keyPem: identity.caKeyPem },
    controlUrl: () => `http://${urlHost}:${controlPort}`,
    authorizerLifetimeScale: options.authorizerLifetimeScale, functionTimeoutMs: options.functionTimeoutMs,
  });
  const httpsPublish = new HttpsPublishService({
    scope: { region, accountId }, certificates: broker.authenticators.get("mqtt-x509")!, connections: auth.connections,
    credentials: auth.credentials, now, log, publish: (topic, payload, qos, retain) => broker.publish(topic, payload, qos, retain),
  });
  dataApi.registerSelfAuthenticating("Publish", httpsPublish.operations().Publish);
  listeners.onHttpsRequest((request, response, info) => {
    if (!httpsPublish.claim(request, info)) return false;
    dataApi.listener(request, response);
    return true;
  });
  const fleetProvisioning = installFleetProvisioning({
    stateDir: options.stateDir, registry, functions: auth.functions, now, log,
    serverCa: { certPem: identity.caPem, keyPem: identity.caKeyPem },
    reply: (clientId, topic, payload) => broker.publishTo(clientId, topic, payload),
  });
  control.registerAll(fleetProvisioning.operations);
  broker.onMessage((message) => fleetProvisioning.handleMessage(message));
  const webConsole = consoleRoutes({
    scope: { region, accountId }, credentials: auth.credentials, now, log: tap,
    onMessage: (listener) => broker.onMessage(listener), upgradeMqtt: auth.websocket.upgrade,
  });
  const controlServer = createServer((request, response) =>
    webConsole.handle(request, response) || auth.handleCognito(request, response) || control.listener(request, response));
  controlServer.on("upgrade", (request, socket, head) => {
    if (!webConsole.upgrade(request, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  controlPort = await listenHttp(controlServer, host, options.ports?.control ?? 0);

  return {
    endpoint,
    ports: { ...dataPorts, control: controlPort },
    controlUrl: `http://${urlHost}:${controlPort}`,
    consoleUrl: `http://${urlHost}:${controlPort}/console/`,
    log: tap,
    serverCaPem: identity.caPem,
    region, accountId, registry, faults, broker, auth, shadows, fleetProvisioning,
    control: { register: (operation, handler) => control.register(operation, handler) },
    dataPlane: {
      authenticators: broker.authenticators,
      addServerName: (name, material) => listeners.addServerName(name, material),
      removeServerName: (name) => listeners.removeServerName(name),
      onHttpsRequest: (handler) => listeners.onHttpsRequest(handler),
      onUpgrade: (handler) => listeners.onUpgrade(handler),
      handleMqttStream: (stream, info) => broker.handle(stream, info),
    },
    provisioningIdle: () => justInTime.whenIdle(),
    async close() {
      justInTime.cancel();
      faults.clear();
      webConsole.close();
      await auth.close();
      await listeners.close();
      await broker.close();
      controlServer.closeAllConnections();
      await new Promise<void>((resolve) => controlServer.close(() => resolve()));
    },
  };
}

function secretLookup(credentials: IotCoreOptions["credentials"]): SecretLookup | undefined {
  if (!credentials) return undefined;
  if (typeof credentials === "function") return credentials;
  return (accessKeyId) => (Object.hasOwn(credentials, accessKeyId) ? credentials[accessKeyId] : undefined);
}

function endpointFor(type: string, endpoint: string, prefix: string, region: string): string {
  switch (type) {
    case "iot:Data": return `${prefix}.iot.${region}.amazonaws.com`;
    case "iot:CredentialProvider": return `${prefix}.credentials.iot.${region}.amazonaws.com`;
    case "iot:Jobs": return `${prefix}.jobs.iot.${region}.amazonaws.com`;
    default: return endpoint;
  }
}

function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

// The local AWS IoT Core stand-in, and the composition root: the only file that lists the AWS
// services it runs. The core is the registry, the TLS data plane (MQTT with client
// certificates, JITP/JITR, policies, quotas, custom authorizers and SigV4 WebSocket), fault
// injection, SigV4 verification and the control plane that routes every service's API; the
// services (host/iotcore/services/<name>/) plug in through the interface in service.ts.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { accountKey, AccessKeyStore, ADMINISTRATOR_POLICY, writeCliFiles, type CliFiles } from "./auth/access-keys.js";
import { installConnectionAuth } from "./auth/connections.js";
import { ControlPlane } from "./control/server.js";
import { MqttBroker } from "./dataplane/broker.js";
import { certificateAuthenticator } from "./dataplane/certificate-auth.js";
import { Faults } from "./dataplane/faults.js";
import { AccountRates, type AccountLimits } from "./dataplane/quotas.js";
import { DataPlaneListeners, type HttpsRequestHandler, type ServerKeyMaterial, type UpgradeHandler } from "./dataplane/listeners.js";
import type { Authenticator, ConnectionInfo, Route } from "./dataplane/types.js";
import { serverCertificateIssuer } from "./pki/server-certificate-issuer.js";
import { loadServerIdentity } from "./pki/server-identity.js";
import { JustInTime } from "./provisioning/just-in-time.js";
import { Registry } from "./registry/registry.js";
import type { AccessKey, Service } from "./service.js";
import { ServiceHost } from "./service-host.js";
import { consoleService } from "./console/server.js";
import { LogTap, type LogEvent, type LogFields } from "./log.js";
import { acmService, type AcmService } from "./services/acm/index.js";
import { iamService, type IamService } from "./services/iam/index.js";
import { cognitoIdentityService, type CognitoIdentityService } from "./services/cognito-identity/index.js";
import { iotService, type IotService } from "./services/iot/index.js";
import { fleetProvisioningService, type FleetProvisioning } from "./services/fleet-provisioning/index.js";
import { iotDataService, type IotDataService } from "./services/iotdata/index.js";
import { jobsService, type JobsService } from "./services/jobs/index.js";
import { streamsService, type StreamsService } from "./services/streams/index.js";
import { lambdaService, type LambdaService } from "./services/lambda/index.js";
import type { Authorizers } from "./auth/authorizers.js";
import type { AccessKeys } from "./service.js";

export type { Authenticator, AuthOutcome, ConnectAttempt, ConnectionInfo, Principal, Refusal, Route } from "./dataplane/types.js";
export type { OperationHandler, OperationInput } from "./control/server.js";
export type { HttpsRequestHandler, UpgradeHandler, ServerKeyMaterial } from "./dataplane/listeners.js";
export type { AccessKey, CoreContext, Service, TopicService } from "./service.js";
export { AwsError } from "./registry/errors.js";
export { Registry } from "./registry/registry.js";
export { evaluatePolicies } from "./policy/evaluate.js";
export { Faults } from "./dataplane/faults.js";
export { MqttBroker } from "./dataplane/broker.js";
export { ACCOUNT_LIMITS, type AccountLimits } from "./dataplane/quotas.js";
export type { LogEvent, LogFields } from "./log.js";

export interface IotCoreOptions {
  stateDir: string;
  host?: string;                                            // default 127.0.0.1
  ports?: { mqtt?: number; https?: number; httpsMtls?: number; control?: number };  // 0 = ephemeral (default)
  region?: string;                                          // default us-east-1
  accountId?: string;                                       // default 123456789012
  provisioningDelayMs?: number;                             // JITP/JITR work time, default 1000
  /** every log line, with its decision's facts when it has them */
  log?: (line: string, fields?: LogFields) => void;
  /**
   * false: the control plane accepts unsigned and wrongly signed requests (quick experiments;
   * announced in the log). Default true: every request is SigV4-verified against the
   * stand-in's keys (`accountKey`, IAM users' keys, Cognito's temporary keys).
   */
  authenticate?: boolean;
  /** Further long-term access keys (id to secret) with the administrator's permissions. */
  credentials?: Record<string, string>;
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
  /** ms in a minute of IoT Jobs' step and in-progress timers (default 60,000; tests shorten it) */
  jobsMinuteMs?: number;
  /** Jobs device API requests per thing per second before RequestThrottled (default 10) */
  jobsRequestsPerSecond?: number;
  /** the account-level rates (connects, inbound publishes, subscriptions, provisioning per second); AWS's defaults for those not given */
  accountLimits?: Partial<AccountLimits>;
}

export interface IotCore {
  readonly endpoint: string;
  /** the "8883", "443" and "8443" listeners and the control plane */
  readonly ports: { mqtt: number; https: number; httpsMtls: number; control: number };
  readonly controlUrl: string;
  /** the web console: `<controlUrl>/console/` */
  readonly consoleUrl: string;
  /** every log line as an event, with a decision's facts (console/, tests) */
  readonly log: { subscribe(listener: (event: LogEvent) => void): () => void; recent(): LogEvent[] };
  readonly serverCaPem: string;
  readonly region: string;
  readonly accountId: string;
  /** Whether the control plane verifies signatures (IotCoreOptions.authenticate). */
  readonly authenticates: boolean;
  /** The account's administrator key, also in `cliFiles` for the AWS CLI. */
  readonly accountKey: AccessKey;
  readonly cliFiles: CliFiles;
  readonly registry: Registry;
  readonly faults: Faults;
  /** the account-level rates in force (AWS's defaults unless IotCoreOptions.accountLimits changed them) */
  readonly accountLimits: Readonly<AccountLimits>;
  readonly dataPlane: {
    /** authenticators by route: "mqtt-x509" (certificates), "mqtt-custom-auth" and "websocket" (auth/connections.ts) */
    readonly authenticators: Map<Route, Authenticator>;
    addServerName(name: string, material: ServerKeyMaterial): void;
    removeServerName(name: string): void;
    onHttpsRequest(handler: HttpsRequestHandler): void;
    onUpgrade(handler: UpgradeHandler): void;
    /** serves MQTT on a stream (e.g. a WebSocket stream) with the given connection facts */
    handleMqttStream(stream: Duplex, info: ConnectionInfo): void;
  };
  readonly broker: MqttBroker;
  /** The core's authentication state: custom authorizers and the access keys SigV4 is verified against. */
  readonly auth: { authorizers: Authorizers; accessKeys: AccessKeys };
  /** Every service, in the order they were added. */
  readonly services: readonly Service[];
  readonly iot: IotService;
  readonly lambda: LambdaService;
  readonly cognito: CognitoIdentityService;
  readonly acm: AcmService;
  readonly iam: IamService;
  /** The Device Shadow service (MQTT reserved topics and the iot-data REST API on the 443 listener). */
  readonly iotData: IotDataService;
  readonly shadows: IotDataService["shadows"];
  /** fleet provisioning by claim: provisioning templates and the `$aws/certificates/...`, `$aws/provisioning-templates/...` topics */
  readonly fleetProvisioning: FleetProvisioning;
  /** IoT Jobs: jobs, executions and the `$aws/things/<thing>/jobs/...` device API */
  readonly jobs: JobsService;
  /** MQTT-based file delivery: streams and the `$aws/things/<thing>/streams/...` device topics */
  readonly streams: StreamsService;
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
  const authenticates = options.authenticate !== false;
  const registry = new Registry({ stateDir: options.stateDir, region, accountId, now, randomHex: (n) => randomBytes(n).toString("hex") });
  const endpoint = `${registry.endpointPrefix()}-ats.iot.${region}.amazonaws.com`;
  const identity = await loadServerIdentity(options.stateDir, endpoint);
  const faults = new Faults(log);
  const accountRates = new AccountRates(options.accountLimits);
  const broker = await MqttBroker.create({
    scope: { region, accountId }, faults, now, log,
    keepAliveScale: options.keepAliveScale, connectIntervalMs: options.connectIntervalMs, verbose: options.verbose,
    rateWindowMs: options.rateWindowMs, sessionExpiryMs: options.sessionExpiryMs,
    sessionStoreDir: join(options.stateDir, "sessions"), connectDeadlineMs: options.connectDeadlineMs, accountRates,
  });
  const justInTime = new JustInTime({ registry, delayMs: options.provisioningDelayMs ?? 1000, now, log, publish: (topic, payload) => broker.publish(topic, payload), registrations: accountRates.registrations });
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

  const accessKeys = new AccessKeyStore(registry.collection("access-keys"), now);
  const account = accountKey(accessKeys, { stateDir: options.stateDir, accountId, region });
  for (const [accessKeyId, secretAccessKey] of Object.entries(options.credentials ?? {})) {
    accessKeys.add({ accessKeyId, secretAccessKey, principal: `arn:aws:iam::${accountId}:user/${accessKeyId}`, policyDocuments: [ADMINISTRATOR_POLICY] });
  }
  const control = new ControlPlane({ region, now, log, lookup: (id) => accessKeys.lookup(id), authenticate: authenticates });
  if (!authenticates) log("control: authentication is OFF (--no-auth): unsigned and wrongly signed requests are accepted");
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let controlPort = 0;
  const controlUrl = () => `http://${urlHost}:${controlPort}`;

  // Services. Late-bound references break the cycles between the core's authentication and
  // the services it consults (authorizer functions, custom domains).
  const late: { iot?: IotService; lambda?: LambdaService } = {};
  const connectionAuth = installConnectionAuth({
    registry, broker, listeners, accessKeys, now, log,
    functions: { invoke: (arn, event) => late.lambda!.functions.invoke(arn, event) },
    domainFor: (serverName) => late.iot?.domains.forServerName(serverName),
    ...(options.authorizerLifetimeScale !== undefined ? { lifetimeScale: options.authorizerLifetimeScale } : {}),
  });
  const services = new ServiceHost({
    stateDir: options.stateDir, registry, broker, listeners, control, accessKeys, now, log, controlUrl,
    issueServerCertificate: serverCertificateIssuer(identity.caPem, identity.caKeyPem),
    authentication: { certificate: broker.authenticators.get("mqtt-x509")!, connection: connectionAuth.connections },
  });
  const lambda = late.lambda = await services.add("lambda", (core) => lambdaService(core, { ...(options.functionTimeoutMs !== undefined ? { timeoutMs: options.functionTimeoutMs } : {}) }));
  const iam = await services.add("iam", (core) => iamService(core));
  const cognito = await services.add("cognito-identity", (core) => cognitoIdentityService(core, { rolePolicies: (arn) => iam.rolePolicies(arn) }));
  const iotData = await services.add("iotdata", (core) => iotDataService(core, { hostNames: [endpoint, "localhost"] }));
  const acm = await services.add("acm", (core) => acmService(core, { inUseBy: (arn) => late.iot?.domains.using(arn) ?? [] }));
  const iot = late.iot = await services.add("iot", (core) => iotService(core, {
    endpoint, authorizers: connectionAuth.authorizers, defaultAuthorizer: connectionAuth.defaultAuthorizer, functions: lambda.functions,
    serverCertificates: acm.certificates,
    onThingDeleted: (thingName) => iotData.shadows.deleteThing(thingName),
  }));
  const fleetProvisioning = await services.add("fleet-provisioning", (core) => fleetProvisioningService(core, {
    functions: lambda.functions, serverCa: { certPem: identity.caPem, keyPem: identity.caKeyPem }, registrations: accountRates.registrations,
  }));

  const jobs = await services.add("jobs", (core) => jobsService(core, {
    ...(options.jobsMinuteMs !== undefined ? { minuteMs: options.jobsMinuteMs } : {}),
    ...(options.jobsRequestsPerSecond !== undefined ? { requestsPerSecond: options.jobsRequestsPerSecond } : {}),
  }));

  const streams = await services.add("streams", (core) => streamsService(core));

  await services.add("console", (core) => consoleService(core, { accountKey: account, logEvents: tap, upgradeMqtt: connectionAuth.websocket.upgrade }));

  const controlServer = createServer((request, response) => services.serveControlPort(request, response) || control.listener(request, response));
  controlServer.on("upgrade", (request, socket, head) => {
    if (!services.upgradeControlPort(request, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  controlPort = await listenHttp(controlServer, host, options.ports?.control ?? 0);
  const cliFiles = writeCliFiles(options.stateDir, account, region, controlUrl());

  return {
    endpoint,
    ports: { ...dataPorts, control: controlPort },
    controlUrl: controlUrl(),
    consoleUrl: `${controlUrl()}/console/`,
    log: tap,
    serverCaPem: identity.caPem,
    region, accountId, registry, faults, accountLimits: accountRates.limits, broker, authenticates, accountKey: account, cliFiles,
    auth: { authorizers: connectionAuth.authorizers, accessKeys },
    services: services.services, iot, lambda, cognito, acm, iam, iotData, shadows: iotData.shadows, fleetProvisioning, jobs, streams,
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
      connectionAuth.close();
      await services.close();
      await listeners.close();
      await broker.close();
      controlServer.closeAllConnections();
      await new Promise<void>((resolve) => controlServer.close(() => resolve()));
    },
  };
}

function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

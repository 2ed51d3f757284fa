// The one interface between the stand-in's core and its AWS services.
//
// The core owns the listeners, the broker, authentication (SigV4, certificates, custom
// authorizers), policy evaluation and the registry (things, certificates, policies). Every AWS
// service (IoT control plane, ACM, IAM, Cognito identity, Lambda, and those to come: shadows,
// jobs, fleet provisioning, HTTPS publish...) is a folder under `services/` whose factory gets a
// CoreContext and returns a Service: the operations it routes, the reserved topics it serves and
// the collections it persists. The core knows no service by name; `index.ts` lists them.
import type { Duplex } from "node:stream";
import type { OperationHandler } from "./control/server.js";
import type { RouteTable } from "./control/routes.js";
import type { HttpsRequestHandler, ServerKeyMaterial, UpgradeHandler } from "./dataplane/listeners.js";
import type { Authenticator, ConnectionInfo, Principal } from "./dataplane/types.js";
import type { ConnectionAuth } from "./auth/connection-auth.js";
import type { LogWriter } from "./log.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IssuedServerCertificate } from "./pki/server-certificate-issuer.js";
import type { Collection } from "./registry/collection.js";
import type { Registry } from "./registry/registry.js";

export type { CallerInfo, OperationHandler, OperationInput } from "./control/server.js";

/** A message the broker accepted: from a device, or published by a service. */
export interface PublishedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  clientId?: string;
  principal?: Principal;
}

/** Reserved topics a service answers: the core hands it every accepted publish matching `filter`. */
export interface TopicService {
  /** An MQTT topic filter (`+`, `#`), e.g. `$aws/things/+/shadow/#`. */
  filter: string;
  onPublish(message: PublishedMessage): void;
}

/** What a service gives the core. Only `name` is required. */
export interface Service {
  /**
   * The service's folder under services/: AWS's signing name ("iot", "acm", "iam",
   * "cognito-identity", "iotdata"), or a name of its own for a part of a larger API
   * ("fleet-provisioning", whose operations are the IoT API's) or for a part of the stand-in
   * that is no AWS API ("console", the web console in console/).
   */
  readonly name: string;
  /**
   * The control-plane operations it answers, keyed by the service model's operation names,
   * with the generated route table that says how each arrives on the wire (REST path, JSON
   * target or query Action). Requests are SigV4-verified by the core before a handler runs,
   * except for the operations listed in `unsigned` (AWS serves Cognito's GetId unsigned).
   */
  readonly api?: {
    routes: RouteTable;
    operations: Record<string, OperationHandler>;
    unsigned?: readonly string[];
    /**
     * Operations whose callers are not IAM principals (iot-data Publish: devices with
     * certificates, custom authorizers or SigV4): the core does not verify them; the handler
     * gets the request and its body in `caller` and authenticates itself.
     */
    selfAuthenticating?: readonly string[];
    /** Host names the 443 listener also serves this API under (SNI or Host), as devices call it. */
    hostNames?: readonly string[];
  };
  /** Reserved topics it serves. */
  readonly topics?: readonly TopicService[];
  /**
   * Requests it serves on the control port beside the AWS APIs, tried before them (the web
   * console's pages and streams under `/console/`); each returns false for what is not its own.
   */
  readonly controlPort?: {
    handle(request: IncomingMessage, response: ServerResponse): boolean;
    upgrade?(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  };
  /** The collections it keeps in the state directory (for inspection; they persist themselves). */
  readonly persists?: readonly Collection<unknown>[];
  /** Stops what the service runs (workers, timers); the core calls it once, on close. */
  close?(): Promise<void>;
}

/** What the core gives a service. */
export interface CoreContext {
  readonly region: string;
  readonly accountId: string;
  readonly stateDir: string;
  now(): number;
  /** A line for the log, with a decision's facts when it is one (the console shows them). */
  log: LogWriter;
  /** A collection persisted as `<state>/services/<service>/<name>.json`. */
  store<T>(name: string): Collection<T>;
  /** `arn:aws:<service>:<region>:<account>:<resource>` */
  arn(service: string, resource: string): string;
  /** Things, certificates, policies and their attachments (the data plane authenticates with them). */
  readonly registry: Registry;
  readonly broker: {
    /** Publishes as AWS does on reserved topics (and as an authorized publish): no policy check. */
    publish(topic: string, payload: Buffer | string, qos?: 0 | 1, retain?: boolean): Promise<void>;
    /** Publishes to one client's connection only (answers on reserved topics); false if it is not connected. */
    publishTo(clientId: string, topic: string, payload: Buffer | string): Promise<boolean>;
    /**
     * Answers a device's request on a reserved topic as AWS does (Jobs, streams): to the
     * connection that asked only, or published when the request came without one (HTTPS
     * publish). Resolves false, after a log line, when the connection did not take it.
     */
    answer(clientId: string | undefined, topic: string, payload: Buffer | string): Promise<boolean>;
    /** Closes the connections whose principal matches; returns how many. */
    disconnectWhere(match: (principal: Principal, clientId: string) => boolean, reason: string): number;
  };
  readonly dataPlane: {
    /** Serves a further TLS name (custom domain, service host) on the data listeners by SNI. */
    addServerName(name: string, material: ServerKeyMaterial): void;
    removeServerName(name: string): void;
    /** HTTPS requests on the 443 listener; a handler returns false for requests not its own. */
    onHttpsRequest(handler: HttpsRequestHandler): void;
    onUpgrade(handler: UpgradeHandler): void;
    handleMqttStream(stream: Duplex, info: ConnectionInfo): void;
    /** Answers an HTTPS request through the control plane (routing, decoding, AWS's answers). */
    serveApi(request: IncomingMessage, response: ServerResponse): void;
  };
  /** The core's authenticators, for services whose callers are devices (HTTPS publish). */
  readonly authentication: {
    /** The client-certificate authenticator of the MQTT listeners (registry, JITP/JITR). */
    certificate: Authenticator;
    /** Custom authorizers (and their domains' defaults). */
    connection: ConnectionAuth;
  };
  /** Access keys the core's SigV4 verification knows (IAM users, Cognito's temporary keys). */
  readonly accessKeys: AccessKeys;
  /** Issues a server certificate for `names` from the stand-in's server CA (devices trust it). */
  issueServerCertificate(names: string[]): Promise<IssuedServerCertificate>;
  /** The control plane's URL (known once it listens). */
  controlUrl(): string;
}

/** An access key the core verifies SigV4 requests and presigned URLs against. */
export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials carry a token the request must present. */
  sessionToken?: string;
  /** Epoch ms after which the key is refused. */
  expiresAtMs?: number;
  /** Who the key belongs to: an IAM user ARN, a Cognito identity id... */
  principal: string;
  /** IoT policy documents that govern the data-plane connections this key makes. */
  policyDocuments: string[];
  /**
   * Set for an authenticated Cognito identity's credentials (its identity id): the IoT policies
   * attached to that target must also allow each data-plane action.
   */
  iotPolicyTarget?: string;
}

export interface AccessKeys {
  add(key: AccessKey): AccessKey;
  lookup(accessKeyId: string): AccessKey | undefined;
  remove(accessKeyId: string): void;
  list(): AccessKey[];
}

/** Builds a service; `index.ts` calls each factory once, in order, at start. */
export type ServiceFactory<S extends Service = Service> = (core: CoreContext) => S | Promise<S>;

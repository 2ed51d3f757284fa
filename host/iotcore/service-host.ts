// The core's side of the service interface: gives each service its context, routes its API
// through the control plane (and the 443 listener under the API's host name), hands it the
// publishes on its reserved topics, serves its control-port routes, and closes services in
// reverse order.
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { ControlPlane } from "./control/server.js";
import type { MqttBroker } from "./dataplane/broker.js";
import type { DataPlaneListeners } from "./dataplane/listeners.js";
import type { IssuedServerCertificate } from "./pki/server-certificate-issuer.js";
import { Collection } from "./registry/collection.js";
import type { Registry } from "./registry/registry.js";
import type { ConnectionAuth } from "./auth/connection-auth.js";
import type { Authenticator } from "./dataplane/types.js";
import type { LogWriter } from "./log.js";
import type { AccessKeys, CoreContext, Service } from "./service.js";
import { topicMatches } from "./topic-filter.js";

export interface ServiceHostOptions {
  stateDir: string;
  registry: Registry;
  broker: MqttBroker;
  listeners: DataPlaneListeners;
  control: ControlPlane;
  accessKeys: AccessKeys;
  issueServerCertificate(names: string[]): Promise<IssuedServerCertificate>;
  controlUrl(): string;
  authentication: { certificate: Authenticator; connection: ConnectionAuth };
  now(): number;
  log: LogWriter;
}

export class ServiceHost {
  readonly services: Service[] = [];

  constructor(private readonly o: ServiceHostOptions) {}

  /** Builds a service with its context and plugs it into the core. */
  async add<S extends Service>(name: string, factory: (core: CoreContext) => S | Promise<S>): Promise<S> {
    const service = await factory(this.context(name));
    if (service.name !== name) throw new Error(`service added as '${name}' calls itself '${service.name}'`);
    this.services.push(service);
    this.o.control.addService(service);
    for (const topic of service.topics ?? []) {
      this.o.broker.onMessage((message) => {
        if (topicMatches(topic.filter, message.topic)) topic.onPublish(message);
      });
    }
    const hostNames = service.api?.hostNames ?? [];
    const unserved = hostNames.filter((name) => !this.o.listeners.servesName(name));
    if (unserved.length > 0) {
      const issued = await this.o.issueServerCertificate(unserved);
      for (const name of unserved) this.o.listeners.addServerName(name, { cert: issued.certificatePem + issued.chainPem, key: issued.privateKeyPem });
    }
    if (hostNames.length > 0) {
      this.o.listeners.onHttpsRequest((request, response, info) => {
        const host = String(request.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
        if (!hostNames.includes(host) && !hostNames.includes(info.serverName?.toLowerCase() ?? "")) return false;
        if (!this.o.control.routes(service, request)) return false;
        this.o.control.listener(request, response);
        return true;
      });
    }
    return service;
  }

  /** Serves a control-port request through the first service that takes it; false if none does. */
  serveControlPort(request: IncomingMessage, response: ServerResponse): boolean {
    return this.services.some((service) => service.controlPort?.handle(request, response) === true);
  }

  /** Serves a control-port WebSocket upgrade through the first service that takes it; false if none does. */
  upgradeControlPort(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.services.some((service) => service.controlPort?.upgrade?.(request, socket, head) === true);
  }

  async close(): Promise<void> {
    for (const service of [...this.services].reverse()) await service.close?.();
  }

  private context(name: string): CoreContext {
    const o = this.o;
    const dir = join(o.stateDir, "services", name);
    return {
      region: o.registry.region, accountId: o.registry.accountId, stateDir: o.stateDir,
      now: () => o.now(), log: o.log, authentication: o.authentication,
      store: <T>(collection: string) => new Collection<T>(dir, collection),
      arn: (service, resource) => `arn:aws:${service}:${o.registry.region}:${o.registry.accountId}:${resource}`,
      registry: o.registry,
      broker: {
        publish: (topic, payload, qos, retain) => o.broker.publish(topic, payload, qos, retain),
        publishTo: (clientId, topic, payload) => o.broker.publishTo(clientId, topic, payload),
        answer: async (clientId, topic, payload) => {
          if (clientId === undefined) return o.broker.publish(topic, payload).then(() => true);
          const delivered = await o.broker.publishTo(clientId, topic, payload);
          if (!delivered) o.log(`${name}: answer on ${topic} not delivered: client ${clientId} is gone or has not subscribed to it (or may not receive it)`);
          return delivered;
        },
        disconnectWhere: (match, reason) => o.broker.disconnectWhere(match, reason),
      },
      dataPlane: {
        addServerName: (n, material) => o.listeners.addServerName(n, material),
        removeServerName: (n) => o.listeners.removeServerName(n),
        onHttpsRequest: (handler) => o.listeners.onHttpsRequest(handler),
        onUpgrade: (handler) => o.listeners.onUpgrade(handler),
        handleMqttStream: (stream, info) => o.broker.handle(stream, info),
        serveApi: (request, response) => o.control.listener(request, response),
      },
      accessKeys: o.accessKeys,
      issueServerCertificate: (names) => o.issueServerCertificate(names),
      controlUrl: () => o.controlUrl(),
    };
  }
}

// MQTT 3.1.1 for the data plane: aedes with AWS IoT Core's rules in its hooks. Who connects
// is decided by the authenticator registered for the connection's route; the principal's
// policies then govern Connect, Publish (denied: connection closed), Subscribe (denied:
// SUBACK 0x80) and Receive (checked per delivery). Quotas as AWS enforces them.
import { Aedes, type Client, type AedesPublishPacket, type PublishPacket, type Subscription } from "aedes";
import type { Duplex } from "node:stream";
import { evaluatePolicies, type Evaluation, type PolicyVariables } from "../policy/evaluate.js";
import { connectionVariables, resourceArn, type MqttAction, type ResourceScope } from "../policy/resources.js";
import type { Faults } from "./faults.js";
import { clampKeepAlive, clientIdProblem, ConnectRate, LIMITS, topicProblem } from "./quotas.js";
import type { Authenticator, ConnectionInfo, Principal, Route } from "./types.js";

interface Session {
  info: ConnectionInfo;
  principal: Principal;
  variables: PolicyVariables;
  filters: Set<string>;
  outboundInFlight: number;
  disconnectTimer?: NodeJS.Timeout;
}

export interface BrokerOptions {
  scope: ResourceScope;
  faults: Faults;
  now: () => number;
  log: (line: string) => void;
  /** multiplies keep-alive timeouts (tests shorten the 1.5x wait) */
  keepAliveScale?: number;
  /** minimum ms between CONNECTs of one client id (AWS: 1000) */
  connectIntervalMs?: number;
  /** log allowed publishes and deliveries too (denials are always logged) */
  verbose?: boolean;
}

export type MessageListener = (message: { topic: string; payload: Buffer; qos: number; clientId?: string; principal?: Principal }) => void;

export class MqttBroker {
  readonly authenticators = new Map<Route, Authenticator>();
  private readonly infos = new WeakMap<Duplex, ConnectionInfo>();
  private readonly sessions = new WeakMap<Client, Session>();
  private readonly rate: ConnectRate;
  private readonly listeners = new Set<MessageListener>();
  private readonly streams = new Set<Duplex>();

  private constructor(private readonly aedes: Aedes, private readonly options: BrokerOptions) {
    this.rate = new ConnectRate(options.connectIntervalMs ?? LIMITS.connectIntervalMs);
  }

  /** Creates the broker; rejects only if aedes cannot start. */
  static async create(options: BrokerOptions): Promise<MqttBroker> {
    const aedes = await Aedes.createBroker({ maxClientsIdLength: 65535, keepaliveLimit: 0, connectTimeout: 30_000 });
    const broker = new MqttBroker(aedes, options);
    broker.install();
    return broker;
  }

  /** Serves MQTT on a stream (TLS socket, or a WebSocket stream from the 443 listener). */
  handle(stream: Duplex, info: ConnectionInfo): void {
    this.infos.set(stream, info);
    this.streams.add(stream);
    stream.once("close", () => this.streams.delete(stream));
    endGracefully(stream);
    const client = this.aedes.handle(stream);
    // AWS grants at most QoS 1; aedes fixes the granted QoS before authorizeSubscribe runs,
    // so lower it on the decoded packet before aedes sees it.
    const parser = (client as unknown as { _parser?: NodeJS.EventEmitter })._parser;
    parser?.prependListener("packet", (packet: { cmd: string; subscriptions?: { qos: number }[] }) => {
      if (packet.cmd === "subscribe") for (const sub of packet.subscriptions ?? []) sub.qos = Math.min(sub.qos, 1);
    });
  }

  /** Publishes as AWS does on reserved topics (`$aws/events/...`): no publish authorization. */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1 = 1): Promise<void> {
    const packet = { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false } as PublishPacket;
    return new Promise((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve())));
  }

  /** Called for every message the broker accepts (from devices and from publish()). */
  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the connections whose principal matches (e.g. a certificate just revoked). */
  disconnectWhere(match: (principal: Principal, clientId: string) => boolean, reason: string): number {
    let count = 0;
    for (const client of Object.values((this.aedes as unknown as { clients: Record<string, Client> }).clients)) {
      const session = this.sessions.get(client);
      if (session && match(session.principal, client.id)) {
        this.options.log(`disconnect: client ${client.id}: ${reason}`);
        client.close();
        count++;
      }
    }
    return count;
  }

  /** Drops every connection at once (restart). */
  dropAll(): void {
    for (const stream of this.streams) dropNow(stream);
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }

  private install(): void {
    const a = this.aedes;
    a.preConnect = (client, packet, done) => {
      const requested = packet.keepalive ?? 0;
      packet.keepalive = clampKeepAlive(requested) * (this.options.keepAliveScale ?? 1);
      if (requested !== clampKeepAlive(requested)) this.options.log(`connect: client ${packet.clientId}: keep-alive ${requested} s clamped to ${clampKeepAlive(requested)} s`);
      if (this.options.faults.take("after-connect", packet.clientId)) {
        dropNow(client.conn);
        return;
      }
      this.options.faults.gate().then(() => done(null, true), () => done(null, true));
    };
    a.authenticate = (client, username, password, done) => {
      this.authenticate(client, username, password).then(
        (refusal) => {
          if (refusal === undefined) return done(null, true);
          if (refusal === "drop") return void client.conn.destroy();
          done(Object.assign(new Error("refused"), { returnCode: refusal }), false);
        },
        (error: Error) => {
          this.options.log(`connect refused: client ${client.id}: internal error ${error.message}`);
          client.conn.destroy();
        });
    };
    a.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const problem = this.publishProblem(client, packet);
      if (problem) {
        this.options.log(`publish denied: client ${client.id} topic ${packet.topic}: ${problem}; closing the connection`);
        return done(new Error(problem));
      }
      if (packet.qos === 1 && this.options.faults.take("before-puback", client.id)) {
        dropNow(client.conn);
        return;
      }
      this.options.faults.gate().then(() => done(null), () => done(null));
    };
    a.authorizeSubscribe = (client, subscription, done) => done(null, this.authorizeSubscription(client, subscription));
    a.authorizeForward = (client, packet) => this.authorizeDelivery(client, packet);
    a.on("ack", (_packet, client) => {
      const session = client && this.sessions.get(client);
      if (session && session.outboundInFlight > 0) session.outboundInFlight--;
    });
    a.on("unsubscribe", (filters, client) => {
      const session = this.sessions.get(client);
      for (const filter of filters) session?.filters.delete(filter);
    });
    a.on("clientDisconnect", (client) => {
      const session = this.sessions.get(client);
      if (session?.disconnectTimer) clearTimeout(session.disconnectTimer);
    });
    a.on("keepaliveTimeout", (client) => this.options.log(`disconnect: client ${client.id}: keep-alive expired (1.5x without a packet)`));
    a.on("publish", (packet, client) => {
      if (packet.topic.startsWith("$SYS/")) return;
      const session = client ? this.sessions.get(client) : undefined;
      for (const listener of this.listeners) {
        try {
          listener({ topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, clientId: client?.id, principal: session?.principal });
        } catch (error) {
          this.options.log(`message listener failed: ${(error as Error).message}`);
        }
      }
    });
  }

  /** Resolves undefined when accepted, else the refusal (already logged). */
  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<"drop" | 2 | 3 | 4 | 5 | undefined> {
    const info = this.infos.get(client.conn);
    const clientId = client.id;
    const where = info ? `${info.listener === "mqtt" ? "8883" : "443"} alpn=${info.alpn ?? "-"} sni=${info.serverName ?? "-"}` : "?";
    const refuse = (refusal: "drop" | 2 | 3 | 4 | 5, reason: string) => {
      this.options.log(`connect refused: client ${clientId} via ${where}: ${reason}${refusal === "drop" ? "; connection dropped" : `; CONNACK ${refusal}`}`);
      return refusal;
    };
    if (!info) return refuse("drop", "unknown connection");
    const idProblem = clientIdProblem(clientId);
    if (idProblem) return refuse(2, idProblem);
    if (!this.rate.admit(clientId, this.options.now())) return refuse("drop", "more than 1 CONNECT per second for this client id (throttled)");
    const authenticator = this.authenticators.get(info.route);
    if (!authenticator) return refuse("drop", `no authenticator serves route ${info.route}`);
    const outcome = await authenticator({ ...info, clientId, username, password });
    if (!outcome.ok) return refuse(outcome.refuse, outcome.reason);
    const { principal } = outcome;
    const variables: PolicyVariables = {
      ...connectionVariables({ clientId, thingName: principal.thingName, certificateId: principal.certificateId, subject: principal.subject, principalId: principal.id }),
      ...principal.variables,
    };
    const verdict = this.evaluate(principal, variables, "iot:Connect", clientId);
    if (verdict.decision !== "allow") return refuse("drop", `${principal.kind} ${short(principal.id)}: iot:Connect on ${resourceArn(this.options.scope, "iot:Connect", clientId)}: ${verdict.decision}`);
    const session: Session = { info, principal, variables, filters: new Set(), outboundInFlight: 0 };
    if (principal.disconnectAfterMs !== undefined) {
      session.disconnectTimer = setTimeout(() => {
        this.options.log(`disconnect: client ${clientId}: the principal's connection lifetime (${principal.disconnectAfterMs} ms) ended`);
        client.close();
      }, principal.disconnectAfterMs);
      session.disconnectTimer.unref();
    }
    this.sessions.set(client, session);
    const existing = (this.aedes as unknown as { clients: Record<string, Client> }).clients[clientId];
    const takeover = existing && existing !== client ? "; takes over the older connection with this client id, which is dropped" : "";
    this.options.log(`connect allowed: client ${clientId} via ${where}: ${principal.kind} ${short(principal.id)}${principal.thingName ? ` thing ${principal.thingName}` : ""}; iot:Connect allowed by ${verdict.by}${outcome.note ? `; ${outcome.note}` : ""}${takeover}`);
    return undefined;
  }

  private publishProblem(client: Client, packet: PublishPacket): string | undefined {
    const session = this.sessions.get(client);
    if (!session) return "not authenticated";
    if (packet.qos === 2) return "QoS 2 is not supported by AWS IoT Core";
    const problem = topicProblem(packet.topic, "publish");
    if (problem) return problem;
    const size = Buffer.isBuffer(packet.payload) ? packet.payload.length : Buffer.byteLength(String(packet.payload));
    if (size > LIMITS.payloadBytes) return `payload of ${size} bytes is over the ${LIMITS.payloadBytes}-byte limit`;
    const verdict = this.evaluate(session.principal, session.variables, "iot:Publish", packet.topic);
    if (verdict.decision !== "allow") return `iot:Publish on ${resourceArn(this.options.scope, "iot:Publish", packet.topic)}: ${verdict.decision}`;
    if (this.options.verbose) this.options.log(`publish allowed: client ${client.id} topic ${packet.topic} by ${verdict.by}`);
    return undefined;
  }

  private authorizeSubscription(client: Client, subscription: Subscription): Subscription | null {
    const session = this.sessions.get(client);
    const filter = subscription.topic;
    const deny = (reason: string) => {
      this.options.log(`subscribe denied: client ${client.id} filter ${filter}: ${reason}; SUBACK 0x80`);
      return null;
    };
    if (!session) return deny("not authenticated");
    const problem = topicProblem(filter, "subscribe");
    if (problem) return deny(problem);
    if (!session.filters.has(filter) && session.filters.size >= LIMITS.subscriptionsPerConnection) {
      return deny(`over ${LIMITS.subscriptionsPerConnection} subscriptions on this connection`);
    }
    const verdict = this.evaluate(session.principal, session.variables, "iot:Subscribe", filter);
    if (verdict.decision !== "allow") return deny(`iot:Subscribe on ${resourceArn(this.options.scope, "iot:Subscribe", filter)}: ${verdict.decision}`);
    session.filters.add(filter);
    const qos = Math.min(subscription.qos, 1) as 0 | 1;
    this.options.log(`subscribe allowed: client ${client.id} filter ${filter} QoS ${qos} by ${verdict.by}`);
    return { ...subscription, qos };
  }

  private authorizeDelivery(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = this.sessions.get(client);
    if (!session || packet.topic.startsWith("$SYS/")) return null;
    const verdict = this.evaluate(session.principal, session.variables, "iot:Receive", packet.topic);
    if (verdict.decision !== "allow") {
      this.options.log(`receive denied: client ${client.id} topic ${packet.topic}: iot:Receive ${verdict.decision}; message not delivered`);
      return null;
    }
    if (packet.qos > 0) {
      if (session.outboundInFlight >= LIMITS.inFlightPerDirection) {
        this.options.log(`receive dropped: client ${client.id} topic ${packet.topic}: ${LIMITS.inFlightPerDirection} QoS 1 messages already unacknowledged`);
        return null;
      }
      session.outboundInFlight++;
    }
    if (this.options.verbose) this.options.log(`receive allowed: client ${client.id} topic ${packet.topic} by ${verdict.by}`);
    return packet;
  }

  private evaluate(principal: Principal, variables: PolicyVariables, action: MqttAction, name: string): Evaluation {
    return evaluatePolicies(principal.policies, action, resourceArn(this.options.scope, action, name), variables);
  }
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}

/**
 * aedes destroys the socket when it is done with a client, racing the peer's close_notify
 * (the peer then sees ECONNRESET); end it instead and destroy only if the peer lingers.
 */
function endGracefully(stream: Duplex): void {
  const destroy = stream.destroy.bind(stream);
  stream.destroy = ((error?: Error) => {
    if (stream.destroyed || stream.writableEnded) return destroy(error && !stream.writableEnded ? error : undefined);
    stream.end();
    setTimeout(() => destroy(), 2000).unref();
    return stream;
  }) as typeof stream.destroy;
  (stream as Duplex & { destroyNow?: () => void }).destroyNow = () => destroy();
}

/** Closes at once, without the graceful end (a simulated network drop). */
export function dropNow(stream: Duplex): void {
  const now = (stream as Duplex & { destroyNow?: () => void }).destroyNow;
  if (now) now();
  else stream.destroy();
}

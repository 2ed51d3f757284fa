// MQTT 3.1.1 for the data plane: aedes with AWS IoT Core's rules in its hooks. Who connects
// is decided by the authenticator registered for the connection's route; the principal's
// policies then govern Connect, Publish (denied: connection closed), Subscribe (denied:
// SUBACK 0x80) and Receive (checked per delivery). Quotas as AWS enforces them; where AWS
// documents a limit but not what happens past it, the comment at the check says what the
// stand-in does and why.
import type { Client, AedesPublishPacket, PublishPacket, Subscription } from "aedes";
import aedesPersistenceLevel from "aedes-persistence-level";
import { ClassicLevel } from "classic-level";
import type { Duplex } from "node:stream";
import { logValue as v } from "../log.js";
import { evaluateWithAttached, type Evaluation, type PolicyVariables } from "../policy/evaluate.js";
import { connectionVariables, resourceArn, type MqttAction, type ResourceScope } from "../policy/resources.js";
import { AedesAdapter, type Deliver, type InboundPacket } from "./aedes-adapter.js";
import type { Faults } from "./faults.js";
import { FrameGuard } from "./frame-guard.js";
import { AccountRates, clampKeepAlive, clientIdProblem, ConnectRate, LIMITS, RateWindow, topicProblem } from "./quotas.js";
import { SessionExpiry, type ExpiryStore } from "./session-expiry.js";
import { listenerName, type Authenticator, type ConnectionInfo, type Principal, type Route } from "./types.js";
import type { LogWriter } from "../log.js";
import { topicMatches } from "../topic-filter.js";

interface Session {
  info: ConnectionInfo;
  principal: Principal;
  variables: PolicyVariables;
  filters: Set<string>;
  outboundInFlight: number;
  /** QoS 1 deliveries waiting for the in-flight count to fall under the limit, oldest first */
  held: AedesPublishPacket[];
  /** set while aedes' deliverQoS runs (its authorizeForward call is synchronous) */
  deliveringQoS: boolean;
  disconnectTimer?: NodeJS.Timeout;
}

/** Per-connection rate state, from the first packet on (before CONNECT is authenticated). */
interface Meter {
  publishes: RateWindow;
  bytes: RateWindow;
  /** the connection is being dropped: later packets in the same read are ignored */
  dropped: boolean;
  discarding: boolean;
  delaying: boolean;
  /** packet sizes and the pre-authentication budget, read from the bytes as they arrive */
  frames: FrameGuard;
  /** drops the connection if no CONNECT has arrived in time */
  connectDeadline?: NodeJS.Timeout;
}

// AWS documents no bound on deliveries held back behind the in-flight limit; this one only
// guards the stand-in's memory.
const HELD_LIMIT = 10_000;

export interface BrokerOptions {
  scope: ResourceScope;
  faults: Faults;
  now: () => number;
  log: LogWriter;
  /** multiplies keep-alive timeouts (tests shorten the 1.5x wait) */
  keepAliveScale?: number;
  /** minimum ms between CONNECTs of one client id (AWS: 1000) */
  connectIntervalMs?: number;
  /** the window of the per-connection rates, in ms (AWS: 1000, i.e. 100 publishes and 512 KiB per second) */
  rateWindowMs?: number;
  /** how long a disconnected persistent session is kept, in ms (AWS: 1 hour by default) */
  sessionExpiryMs?: number;
  /** log allowed publishes and deliveries too (denials are always logged) */
  verbose?: boolean;
  /** keeps persistent sessions and their queued messages here (a LevelDB folder) across restarts; in memory when absent */
  sessionStoreDir?: string;
  /** ms a connection has, once it reaches the broker, to send its CONNECT (stand-in choice: 10,000) */
  connectDeadlineMs?: number;
  /** the account-level rates (connects, inbound publishes, subscriptions); AWS's defaults when absent */
  accountRates?: AccountRates;
}

export type MessageListener = (message: { topic: string; payload: Buffer; qos: number; clientId?: string; principal?: Principal }) => void;

export class MqttBroker {
  readonly authenticators = new Map<Route, Authenticator>();
  private readonly infos = new WeakMap<Duplex, ConnectionInfo>();
  private readonly sessions = new WeakMap<Client, Session>();
  private readonly meters = new WeakMap<Client, Meter>();
  /** aedes' own QoS 1 delivery per client, before holdBackOverInFlight wraps it */
  private readonly deliverers = new WeakMap<Client, Deliver>();
  private readonly aedes: AedesAdapter["aedes"];
  private readonly rate: ConnectRate;
  private readonly account: AccountRates;
  /** the last time each account-level throttle was logged (one line per second, not one per refusal) */
  private readonly throttleLogged = new Map<string, number>();
  private readonly expiry: SessionExpiry;
  private readonly sweep: NodeJS.Timeout;
  private readonly listeners = new Set<MessageListener>();
  /** clients whose CONNECT is being decided: resolves (and leaves) when the CONNACK has gone out or the connection closed */
  private readonly connecting = new WeakMap<Client, Promise<void>>();
  private readonly streams = new Set<Duplex>();

  private constructor(private readonly adapter: AedesAdapter, private readonly options: BrokerOptions, expiryStore?: ExpiryStore) {
    this.aedes = adapter.aedes;
    this.rate = new ConnectRate(options.connectIntervalMs ?? LIMITS.connectIntervalMs);
    this.account = options.accountRates ?? new AccountRates();
    this.expiry = new SessionExpiry(options.sessionExpiryMs ?? LIMITS.sessionExpiryMs, expiryStore);
    this.sweep = setInterval(() => this.expireSessions(), Math.min(this.expiry.expiryMs, 60_000));
    this.sweep.unref();
  }

  /** Creates the broker; rejects if aedes cannot start or the session store cannot be opened. */
  static async create(options: BrokerOptions): Promise<MqttBroker> {
    const db = options.sessionStoreDir === undefined ? undefined : new ClassicLevel(options.sessionStoreDir);
    // The session expiry clock lives beside aedes' sessions, in a section of its own.
    const expiryStore = db?.sublevel<string, number>("session-expiry", { valueEncoding: "json" });
    const adapter = await AedesAdapter.create({
      maxClientsIdLength: 65535, keepaliveLimit: 0, connectTimeout: 2 * (options.connectDeadlineMs ?? LIMITS.connectDeadlineMs),
      persistence: db && aedesPersistenceLevel(db),
    });
    const broker = new MqttBroker(adapter, options, expiryStore);
    await broker.expiry.load(options.now());
    broker.install();
    return broker;
  }

  /** Serves MQTT on a stream (TLS socket, or a WebSocket stream from the 443 listener). */
  handle(stream: Duplex, info: ConnectionInfo): void {
    this.infos.set(stream, info);
    this.streams.add(stream);
    stream.once("close", () => this.streams.delete(stream));
    endGracefully(stream);
    const client = this.adapter.handle(stream);
    const windowMs = this.options.rateWindowMs ?? 1000;
    const meter: Meter = {
      publishes: new RateWindow(LIMITS.publishesPerSecond, windowMs),
      bytes: new RateWindow(LIMITS.bytesPerSecond, windowMs),
      dropped: false, discarding: false, delaying: false, frames: new FrameGuard(),
    };
    this.meters.set(client, meter);
    const from = `from ${v(info.remoteAddress)} via ${listenerName(info.listener)}`;
    const deadlineMs = this.options.connectDeadlineMs ?? LIMITS.connectDeadlineMs;
    meter.connectDeadline = setTimeout(() => this.refuseConnection(client, meter, from, `no CONNECT within ${deadlineMs} ms`), deadlineMs);
    meter.connectDeadline.unref();
    stream.once("close", () => clearTimeout(meter.connectDeadline));
    this.adapter.screenBytes(client, (chunk) => {
      if (meter.dropped) return false;
      const refusal = meter.frames.feed(chunk);
      if (refusal) this.refuseConnection(client, meter, `client ${v(client.id ?? "(before CONNECT)")} ${from}`, refusal);
      return !refusal;
    });
    this.adapter.screenPackets(client, (packet) => this.admitPacket(client, packet));
    this.holdBackOverInFlight(client);
  }

  /** Drops a connection that broke a limit before or around its CONNECT; logs why. */
  private refuseConnection(client: Client, meter: Meter, who: string, why: string): void {
    if (meter.dropped) return;
    meter.dropped = true;
    clearTimeout(meter.connectDeadline);
    this.options.log(`connection refused: ${who}: ${why}; connection dropped`, { event: "connection", outcome: "refused", who, reason: why, answer: "connection dropped" });
    dropNow(client.conn);
  }

  /**
   * Publishes without publish authorization: AWS's own messages on reserved topics
   * (`$aws/events/...`), and HTTPS publishes the caller has already authorized.
   */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1 = 1, retain = false): Promise<void> {
    const packet = { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain, dup: false } as PublishPacket;
    return new Promise((resolve, reject) => this.aedes.publish(packet, (error) => (error ? reject(error) : resolve())));
  }

  /**
   * Publishes to one connection only, as AWS answers fleet provisioning requests on the
   * connection that asked: delivered (QoS 0) when that connection has subscribed a filter
   * matching `topic` and its policy allows iot:Receive. Resolves false when not delivered.
   */
  publishTo(clientId: string, topic: string, payload: Buffer | string): Promise<boolean> {
    const client = (this.aedes as unknown as { clients: Record<string, Client> }).clients[clientId];
    const session = client && this.sessions.get(client);
    if (!client || !session || ![...session.filters].some((filter) => topicMatches(filter, topic))) return Promise.resolve(false);
    const packet = { cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as PublishPacket;
    return new Promise((resolve) => client.publish(packet, (error) => resolve(!error)));
  }

  /** Called for every message the broker accepts (from devices and from publish()). */
  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes the connections whose principal matches (e.g. a certificate just revoked). */
  disconnectWhere(match: (principal: Principal, clientId: string) => boolean, reason: string): number {
    let count = 0;
    for (const client of this.adapter.clients()) {
      const session = this.sessions.get(client);
      if (session && match(session.principal, client.id)) {
        this.options.log(`disconnect: client ${v(client.id)}: ${reason}`);
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

  /** Drops every connection and closes aedes and the session store (released for the next start). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.dropAll();
    await this.adapter.close(() => this.expiry.flush());
  }

  private install(): void {
    const a = this.aedes;
    // MQTT lets a client send packets right after CONNECT. aedes may hand such a PUBLISH or
    // SUBSCRIBE to the hooks while the CONNECT is still being decided (a read that arrives
    // meanwhile); those wait here for the CONNACK, then are judged with the session.
    const settlers = new WeakMap<Client, () => void>();
    a.on("connackSent", (_packet, client) => settlers.get(client)?.());
    a.preConnect = (client, packet, done) => {
      this.connecting.set(client, new Promise<void>((resolve) => {
        const settle = () => {
          this.connecting.delete(client);
          resolve();
        };
        settlers.set(client, settle);
        client.conn.once("close", settle);
      }));
      const requested = packet.keepalive ?? 0;
      packet.keepalive = clampKeepAlive(requested) * (this.options.keepAliveScale ?? 1);
      if (requested !== clampKeepAlive(requested)) this.options.log(`connect: client ${v(packet.clientId)}: keep-alive ${requested} s clamped to ${clampKeepAlive(requested)} s`);
      if (this.options.faults.take("after-connect", packet.clientId)) {
        dropNow(client.conn);
        return;
      }
      const expired = !packet.clean && this.expiry.takeIfExpired(packet.clientId, this.options.now())
        ? this.discardSession(packet.clientId) : Promise.resolve();
      Promise.all([expired, this.options.faults.gate()]).then(() => done(null, true), () => done(null, true));
    };
    a.authenticate = (client, username, password, done) => {
      this.authenticate(client, username, password).then(
        (refusal) => {
          if (refusal === undefined) return done(null, true);
          if (refusal === "drop") return void client.conn.destroy();
          done(Object.assign(new Error("refused"), { returnCode: refusal }), false);
        },
        (error: Error) => {
          this.options.log(`connect refused: client ${v(client.id)}: internal error ${error.message}`);
          client.conn.destroy();
        });
    };
    a.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const connecting = this.connecting.get(client);
      if (connecting) return void connecting.then(() => a.authorizePublish(client, packet, done));
      const problem = this.publishProblem(client, packet);
      if (problem) {
        this.options.log(`publish denied: client ${v(client.id)} topic ${v(packet.topic)}: ${problem}; closing the connection`,
          { event: "publish", outcome: "refused", clientId: client.id, topic: packet.topic, reason: problem, answer: "connection closed" });
        return done(new Error(problem));
      }
      if (packet.qos === 1 && this.options.faults.take("before-puback", client.id)) {
        dropNow(client.conn);
        return;
      }
      const proceed = () => this.options.faults.gate().then(() => done(null), () => done(null));
      const delayMs = this.throughputDelay(client, packet);
      if (delayMs > 0) setTimeout(proceed, delayMs).unref();
      else proceed();
    };
    a.authorizeSubscribe = (client, subscription, done) => {
      // aedes re-authorizes a resumed session's stored subscriptions before its CONNACK: those
      // come after authentication, with the session in place, and must not wait
      const connecting = !this.sessions.has(client) && this.connecting.get(client);
      if (connecting) return void connecting.then(() => a.authorizeSubscribe(client, subscription, done));
      done(null, this.authorizeSubscription(client, subscription));
    };
    a.authorizeForward = (client, packet) => this.authorizeDelivery(client, packet);
    a.on("ack", (_packet, client) => {
      const session = client && this.sessions.get(client);
      if (session && session.outboundInFlight > 0) session.outboundInFlight--;
      if (session) this.releaseHeld(client, session);
    });
    a.on("client", (client) => this.expiry.connected(client.id, !client.clean));
    a.on("unsubscribe", (filters, client) => {
      const session = this.sessions.get(client);
      for (const filter of filters) session?.filters.delete(filter);
    });
    a.on("clientDisconnect", (client) => {
      const session = this.sessions.get(client);
      if (session?.disconnectTimer) clearTimeout(session.disconnectTimer);
      // A persistent session keeps its held-back deliveries in aedes' outgoing queue, which is
      // replayed on resume; a clean session loses them with the connection.
      if (session?.held.length && client.clean) this.options.log(`disconnect: client ${v(client.id)}: ${session.held.length} held-back QoS 1 messages discarded with the clean session`);
      if (!client.clean) this.expiry.disconnected(client.id, this.options.now());
    });
    a.on("keepaliveTimeout", (client) => this.options.log(`disconnect: client ${v(client.id)}: keep-alive expired (1.5x without a packet)`));
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
    const where = info ? `${listenerName(info.listener)} alpn=${v(info.alpn)} sni=${v(info.serverName)}` : "?";
    const facts = { event: "connect", clientId, listener: info && listenerName(info.listener), alpn: info?.alpn, sni: info?.serverName, remoteAddress: info?.remoteAddress };
    const refuse = (refusal: "drop" | 2 | 3 | 4 | 5, reason: string, decidedBy?: string) => {
      this.options.log(`connect refused: client ${v(clientId)} via ${where}: ${reason}${refusal === "drop" ? "; connection dropped" : `; CONNACK ${refusal}`}`,
        { ...facts, outcome: "refused", reason, decidedBy, answer: refusal === "drop" ? "connection dropped" : `CONNACK ${refusal}` });
      return refusal;
    };
    if (!info) return refuse("drop", "unknown connection");
    const idProblem = clientIdProblem(clientId);
    if (idProblem) return refuse(2, idProblem);
    if (!this.rate.admit(clientId, this.options.now())) return refuse("drop", "more than 1 CONNECT per second for this client id (throttled)");
    // AWS quota "Connect requests per second per account" (docs/fleet.md#account-limits): over
    // it AWS counts Connect.Throttle and the client gets no CONNACK; the stand-in drops the
    // connection, as for the per-client-id rate above.
    if (!this.account.connects.tryTake(1, this.options.now())) return refuse("drop", `over ${this.account.limits.connectsPerSecond} CONNECT requests per second for the account (throttled)`);
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
    // A default deny has a `by` only when it explains itself (a missing IoT policy on a Cognito identity).
    if (verdict.decision !== "allow") return refuse("drop", `${principal.kind} ${short(principal.id)}: iot:Connect on ${resourceArn(this.options.scope, "iot:Connect", clientId)}: ${verdict.decision}${verdict.decision === "default-deny" && verdict.by ? ` (${verdict.by})` : ""}`, verdict.by);
    const session: Session = { info, principal, variables, filters: new Set(), outboundInFlight: 0, held: [], deliveringQoS: false };
    if (principal.disconnectAfterMs !== undefined) {
      session.disconnectTimer = setTimeout(() => {
        this.options.log(`disconnect: client ${v(clientId)}: the principal's connection lifetime (${principal.disconnectAfterMs} ms) ended`);
        client.close();
      }, principal.disconnectAfterMs);
      session.disconnectTimer.unref();
    }
    this.sessions.set(client, session);
    this.meters.get(client)?.frames.accept();
    const existing = this.adapter.client(clientId);
    const takeover = existing && existing !== client ? "; takes over the older connection with this client id, which is dropped" : "";
    this.options.log(`connect allowed: client ${v(clientId)} via ${where}: ${principal.kind} ${v(short(principal.id))}${principal.thingName ? ` thing ${v(principal.thingName)}` : ""}; iot:Connect allowed by ${verdict.by}${outcome.note ? `; ${outcome.note}` : ""}${takeover}`,
      { ...facts, outcome: "allowed", principal: `${principal.kind} ${principal.id}`, thingName: principal.thingName, decidedBy: verdict.by, note: outcome.note });
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
    if (this.options.verbose) this.options.log(`publish allowed: client ${v(client.id)} topic ${v(packet.topic)} by ${verdict.by}`);
    return undefined;
  }

  private authorizeSubscription(client: Client, subscription: Subscription): Subscription | null {
    const session = this.sessions.get(client);
    const filter = subscription.topic;
    const deny = (reason: string, decidedBy?: string) => {
      this.options.log(`subscribe denied: client ${v(client.id)} filter ${v(filter)}: ${reason}; SUBACK 0x80`,
        { event: "subscribe", outcome: "refused", clientId: client.id, filter, reason, decidedBy, answer: "SUBACK 0x80" });
      return null;
    };
    if (!session) return deny("not authenticated");
    const problem = topicProblem(filter, "subscribe");
    if (problem) return deny(problem);
    if (!session.filters.has(filter) && session.filters.size >= LIMITS.subscriptionsPerConnection) {
      return deny(`over ${LIMITS.subscriptionsPerConnection} subscriptions on this connection`);
    }
    // AWS quota "Subscriptions per second per account", counted per topic filter
    // (docs/fleet.md#account-limits). AWS does not say what a throttled SUBSCRIBE gets; the
    // stand-in refuses the filter with SUBACK 0x80, the answer MQTT has for a refused filter.
    if (!this.account.subscriptions.tryTake(1, this.options.now())) {
      return deny(`over ${this.account.limits.subscriptionsPerSecond} subscriptions per second for the account (throttled)`);
    }
    const verdict = this.evaluate(session.principal, session.variables, "iot:Subscribe", filter);
    if (verdict.decision !== "allow") return deny(`iot:Subscribe on ${resourceArn(this.options.scope, "iot:Subscribe", filter)}: ${verdict.decision}`, verdict.by);
    session.filters.add(filter);
    const qos = Math.min(subscription.qos, 1) as 0 | 1;
    this.options.log(`subscribe allowed: client ${v(client.id)} filter ${v(filter)} QoS ${qos} by ${verdict.by}`,
      { event: "subscribe", outcome: "allowed", clientId: client.id, filter, qos, decidedBy: verdict.by });
    return { ...subscription, qos };
  }

  private authorizeDelivery(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = this.sessions.get(client);
    if (!session || packet.topic.startsWith("$SYS/")) return null;
    const verdict = this.evaluate(session.principal, session.variables, "iot:Receive", packet.topic);
    if (verdict.decision !== "allow") {
      this.options.log(`receive denied: client ${v(client.id)} topic ${v(packet.topic)}: iot:Receive ${verdict.decision}; message not delivered`,
        { event: "receive", outcome: "refused", clientId: client.id, topic: packet.topic, reason: `iot:Receive ${verdict.decision}`, decidedBy: verdict.by, answer: "message not delivered" });
      return null;
    }
    // Counted only where a QoS 1 PUBLISH goes out: through deliverQoS (see holdBackOverInFlight),
    // or replayed from a persistent session's queue (it already carries its message id).
    if (packet.qos > 0 && (session.deliveringQoS || packet.messageId !== undefined)) session.outboundInFlight++;
    if (this.options.verbose) this.options.log(`receive allowed: client ${v(client.id)} topic ${v(packet.topic)} by ${verdict.by}`);
    return packet;
  }

  /**
   * Screens each decoded packet before aedes handles it: true when aedes may handle it; false
   * when it is discarded or the connection dropped. Also lowers requested QoS 2 to 1: aedes
   * fixes the granted QoS before authorizeSubscribe runs.
   */
  private admitPacket(client: Client, packet: InboundPacket): boolean {
    const meter = this.meters.get(client);
    if (!meter || meter.dropped) return false;
    if (packet.cmd === "connect") clearTimeout(meter.connectDeadline);
    const who = `client ${v(client.id ?? "(before CONNECT)")}`;
    if (packet.cmd === "subscribe") {
      const count = packet.subscriptions?.length ?? 0;
      // AWS quota "subscriptions per SUBSCRIBE request: 8". Past it AWS sends no SUBACK and the
      // connection ends, as users of aws-iot-device-sdk-embedded-C (#1903), MQTTnet (#1427) and
      // aws-iot-device-sdk-js (#147) report; the stand-in drops the connection the same way.
      if (count > LIMITS.filtersPerSubscribe) {
        meter.dropped = true;
        this.options.log(`subscribe refused: ${who}: ${count} filters in one SUBSCRIBE, more than ${LIMITS.filtersPerSubscribe}; connection dropped`);
        dropNow(client.conn);
        return false;
      }
      for (const sub of packet.subscriptions ?? []) sub.qos = Math.min(sub.qos, 1);
    }
    if (packet.cmd !== "publish") return true;
    // AWS quota "publish requests per second per connection: 100" (AWS General Reference, AWS
    // IoT Core quotas, message broker). AWS counts the excess in the PublishIn.Throttle metric
    // and, as its support notes describe, keeps the connection open: a QoS 0 message over the
    // rate is lost, a QoS 1 message gets no PUBACK (the client may resend it). The stand-in
    // discards the same way; how AWS measures "per second" is its guess (see RateWindow).
    if (!meter.publishes.tryTake(1, this.options.now())) {
      if (!meter.discarding) this.options.log(`publish throttled: ${who} topic ${v(packet.topic)}: over ${LIMITS.publishesPerSecond} publishes per second on this connection; discarding (no PUBACK) until the rate falls`);
      meter.discarding = true;
      this.adapter.refreshKeepAlive(client);
      return false;
    }
    meter.discarding = false;
    // AWS quota "Inbound publish requests per second per account" (docs/fleet.md#account-limits):
    // throttled the same way as the per-connection rate (PublishIn.Throttle: discarded, no PUBACK).
    if (this.account.publishes.tryTake(1, this.options.now())) return true;
    this.logThrottle("publish", `publish throttled: ${who} topic ${v(packet.topic)}: over ${this.account.limits.publishesPerSecond} inbound publishes per second for the account; discarded (no PUBACK)`);
    this.adapter.refreshKeepAlive(client);
    return false;
  }

  /** Logs an account-level throttle at most once a second per kind (a fleet would flood the log). */
  private logThrottle(kind: string, line: string): void {
    const now = this.options.now();
    if (now - (this.throttleLogged.get(kind) ?? -Infinity) < 1000) return;
    this.throttleLogged.set(kind, now);
    this.options.log(line);
  }

  /**
   * AWS quota "throughput per connection: 512 KiB/s": data over the rate is delayed in
   * processing, not refused. The stand-in meters PUBLISH packets (their encoded length; AWS
   * does not say which bytes count) and holds this publish, and with it the reading of the
   * connection, until the rate allows it. Returns the delay in ms (0: within the rate).
   */
  private throughputDelay(client: Client, packet: PublishPacket): number {
    const meter = this.meters.get(client);
    if (!meter) return 0;
    const length = (packet as { length?: number }).length;
    const bytes = (length ?? Buffer.byteLength(packet.topic) + (Buffer.isBuffer(packet.payload) ? packet.payload.length : Buffer.byteLength(String(packet.payload)))) + 2;
    const delayMs = meter.bytes.takeOrDelay(bytes, this.options.now());
    if (delayMs > 0 && !meter.delaying) this.options.log(`publish delayed: client ${v(client.id)}: over ${LIMITS.bytesPerSecond / 1024} KiB/s on this connection; processing held back ${delayMs} ms`);
    meter.delaying = delayMs > 0;
    return delayMs;
  }

  /**
   * The in-flight limit, outbound. AWS (message broker limits): with 100 QoS 1 messages
   * unacknowledged, no new message is sent to the client until it acknowledges one; so QoS 1
   * deliveries over the limit wait here, in order, and go out as PUBACKs arrive.
   */
  private holdBackOverInFlight(client: Client): void {
    const original = this.adapter.wrapDelivery(client, () => (packet, done) => {
      // another of this client's subscriptions may already have delivered it
      if (!this.adapter.firstDelivery(client, packet)) return void setImmediate(done);
      const session = this.sessions.get(client);
      if (!session || packet.qos === 0 || (session.held.length === 0 && session.outboundInFlight < LIMITS.inFlightPerDirection)) {
        return this.deliverCounted(client, session, packet, done);
      }
      this.hold(client, session, packet);
      setImmediate(done);
    });
    this.deliverers.set(client, original);
  }

  private hold(client: Client, session: Session, packet: AedesPublishPacket): void {
    if (session.held.length >= HELD_LIMIT) {
      this.options.log(`receive dropped: client ${v(client.id)} topic ${v(packet.topic)}: ${HELD_LIMIT} messages already held back`);
      return;
    }
    if (session.held.length === 0) this.options.log(`receive held back: client ${v(client.id)} topic ${v(packet.topic)}: ${LIMITS.inFlightPerDirection} QoS 1 messages unacknowledged; delivery resumes as PUBACKs arrive`);
    session.held.push(packet);
  }

  /** Sends held-back deliveries while the in-flight count is under the limit. */
  private releaseHeld(client: Client, session: Session): void {
    while (session.held.length > 0 && session.outboundInFlight < LIMITS.inFlightPerDirection && !client.closed) {
      const packet = session.held.shift()!;
      // later messages may have gone out meanwhile (QoS 0)
      this.adapter.allowLateDelivery(client, packet);
      this.deliverCounted(client, session, packet, () => undefined);
    }
  }

  /** Hands a QoS 1 delivery to aedes, which counts it in flight when authorizeForward lets it go. */
  private deliverCounted(client: Client, session: Session | undefined, packet: AedesPublishPacket, done: () => void): void {
    const deliver = this.deliverers.get(client)!;
    if (session) session.deliveringQoS = true;
    try {
      deliver(packet, done);
    } finally {
      if (session) session.deliveringQoS = false;
    }
  }

  /** Ends the persistent sessions whose expiry period has passed (called periodically). */
  private expireSessions(): void {
    for (const clientId of this.expiry.takeExpired(this.options.now())) void this.discardSession(clientId);
  }

  /** Discards a persistent session's subscriptions and stored messages; never rejects (a store failure is logged). */
  private async discardSession(clientId: string): Promise<void> {
    try {
      const discarded = await this.adapter.discardSession(clientId);
      this.options.log(`session expired: client ${v(clientId)}: persistent session not resumed within ${this.expiry.expiryMs} ms; subscriptions and ${discarded} stored messages discarded`);
    } catch (error) {
      this.options.log(`session expiry failed: client ${v(clientId)}: ${(error as Error).message}`);
    }
  }

  private evaluate(principal: Principal, variables: PolicyVariables, action: MqttAction, name: string): Evaluation {
    return evaluateWithAttached(principal.policies, principal.policyNames, principal.attachedPolicies, principal.id,
      action, resourceArn(this.options.scope, action, name), variables);
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

// MQTT 3.1.1 session for AWS IoT Core: CONNECT/CONNACK, QoS 0 and 1 publishing with an
// in-flight table that survives disconnects, SUBSCRIBE/UNSUBSCRIBE, keep-alive and DISCONNECT.
// It joins the serializer (encode.ts), the parser (decode.ts) and a byte stream opened by the
// owner; time comes from the platform's timers. It never reconnects on its own.

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, Transport, TransportEvents } from "../platform/seam.js";
import { PacketDecoder, protocolError, type PacketSink } from "./decode.js";
import { DISCONNECT, PINGREQ, encodeConnect, encodeFilters, encodePuback, publishHead, publishHeader, type ConnectFields } from "./encode.js";
import { MAX_FILTERS_PER_SUBSCRIBE, MAX_IN_FLIGHT, MAX_PAYLOAD_BYTES, MAX_SUBSCRIPTIONS, checkClientId, checkPayload, checkTopic } from "./validate.js";

/** What CONNECT carries; validated by the client before anything is sent. */
export type MqttConnectOptions = ConnectFields;

export interface MqttClientEvents {
  onConnected(info: { sessionPresent: boolean }): void;
  /** inbound QoS 1 is PUBACKed after this returns */
  onMessage(topic: string, payload: Uint8Array, info: { qos: 0 | 1; retain: boolean; dup: boolean }): void;
  /** once per connect() that got as far as opening; failure undefined after our own disconnect() */
  onDisconnected(failure?: Failure): void;
}

/** Opens a byte stream already configured (TLS socket, or WebSocket over TLS). */
export type OpenStream = (events: TransportEvents) => Transport;

// What resending a QoS 1 PUBLISH takes: the topic's head (shared with other messages to that
// topic, filled in at each send) and the caller's payload, never copied.
interface InFlight {
  head: Uint8Array;
  payload: Uint8Array;
  retain: boolean;
  done: ((failure?: Failure) => void) | undefined;
  sent: boolean;
}

interface Pending {
  filters: string[];
  ack: number; // the packet type that answers it: SUBACK 9, UNSUBACK 11
  // SUBSCRIBE: (granted QoS per filter | Failure); UNSUBSCRIBE: (Failure?). A method signature,
  // so that either callback fits.
  done?(result?: (0 | 1 | 0x80)[] | Failure): void;
}

// CONNACK return codes 1-5 (3.1.1 section 3.2.2.3) and their fixes.
const CONNACK_CODES = ["unacceptable-protocol", "identifier-rejected", "server-unavailable", "bad-credentials", "not-authorized"];
const CONNACK_FIXES = ["needs MQTT 3.1.1", "change client id", "try later", "check username/password", "check certificate and policy"];

// The keep-alive timer ticks four times per keep-alive period: a PINGREQ goes out after
// 3-4 ticks without sending (or 3 without hearing), the link is dead after 6 silent ticks.
const TICKS_PER_KEEPALIVE = 4;

const NOT_CONNECTED = () => failure("not-connected", "not connected: wait for onConnected", true);

/**
 * One connection: its transport's events, parsed by its own decoder. The client stops the
 * connection it leaves, so that connection's late events (bytes on their way, its onClose)
 * cannot touch the next one.
 */
class Connection extends PacketDecoder implements TransportEvents {
  declare protected readonly sink: MqttClient;
  heard = false; // bytes arrived since the last keep-alive tick

  onOpen(): void {
    if (!this.stopped) this.sink.opened();
  }

  onData(bytes: Uint8Array): void {
    this.heard = true;
    this.push(bytes);
  }

  onClose(f?: Failure): void {
    if (!this.stopped) this.sink.closed(f);
  }
}

// Internal methods are TypeScript-private rather than #private: XS stores a #method in a slot
// of every instance, and a device may hold clients for a long time.
export class MqttClient implements PacketSink {
  #platform: Pick<Platform, "clock" | "timers" | "log">;
  #options: MqttConnectOptions;
  #events: MqttClientEvents;
  #transport: Transport | undefined;
  #link: Connection | undefined; // the current connection
  #opened = false;
  #connected = false;
  // Tables are made on first use: a client that never subscribes carries no subscription set.
  #inFlight: Map<number, InFlight> | undefined;
  #pending: Map<number, Pending> | undefined;
  #subscriptions: Set<string> | undefined;
  #nextId = 1;
  #timer: unknown;
  #sent = false; // something was written since the last tick
  #idleTicks = 0;
  #silentTicks = 0;
  #topic: string | undefined; // last published topic and its PUBLISH head (see publishHead)
  #head: Uint8Array | undefined;

  constructor(platform: Pick<Platform, "clock" | "timers" | "log">, options: MqttConnectOptions, events: MqttClientEvents) {
    this.#platform = platform;
    this.#options = options;
    this.#events = events;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Unacknowledged QoS 1 publishes. */
  get inFlight(): number {
    return this.#inFlight?.size ?? 0;
  }

  /**
   * Opens a stream with `open` and sends CONNECT once it is open. An invalid client id or will topic, a failed
   * open, a refused CONNACK or a lost link all end in one `onDisconnected(failure)`.
   * Ignored (logged) while a connection is already under way.
   */
  connect(open: OpenStream): void {
    if (this.#link) return this.log("already connecting");
    const { will, clientId } = this.#options;
    const willTopic = will && checkTopic(will.topic, false); // its bytes when valid, else a Failure
    // The keep-alive and the will's payload are the caller's: on the device, the config's
    // keepAliveSeconds (checked against 30-1200 where it is loaded) and the session's own short
    // status message.
    const invalid = (willTopic && "code" in willTopic ? willTopic : undefined) ?? checkClientId(clientId);
    if (invalid) {
      this.#platform.timers.setTimeout(() => this.#events.onDisconnected(invalid), 0);
      return;
    }
    const link = new Connection(this);
    this.#link = link; // #opened is false: end() cleared it
    this.log(`connecting as ${clientId}`, 0);
    try {
      this.#transport = open(link);
    } catch (e) {
      this.end(failure("transport-open-failed", `open failed (${e}); check the endpoint`, true));
    }
  }

  /**
   * Publishes. Returns a Failure for an invalid topic or payload ("mqtt-invalid-topic",
   * "mqtt-payload-too-large"), a full in-flight table ("mqtt-in-flight-full") or QoS 0 while
   * disconnected ("not-connected"); otherwise undefined. QoS 1 is kept until PUBACK, across
   * reconnects, and `done()` runs then; QoS 0 calls `done()` once written. The payload is not
   * copied: a QoS 1 payload must stay unchanged until `done()`.
   */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (failure?: Failure) => void, retain = false): Failure | undefined {
    let head = this.#head!; // set with #topic
    if (topic !== this.#topic) {
      const checked = checkTopic(topic, false);
      if ("code" in checked) return checked;
      this.#topic = topic;
      this.#head = head = publishHead(checked);
    }
    if (payload.length > MAX_PAYLOAD_BYTES) return checkPayload(payload);
    if (qos === 0) {
      if (!this.#connected) return NOT_CONNECTED();
      this.send(publishHeader(head, payload.length, 0, retain, false, 0), payload);
      if (done) done();
      return undefined;
    }
    const table = (this.#inFlight ??= new Map());
    if (table.size >= MAX_IN_FLIGHT) {
      return failure("mqtt-in-flight-full", "in-flight table full; wait for done()", true);
    }
    const id = this.newId();
    table.set(id, { head, payload, retain, done, sent: this.#connected });
    if (this.#connected) this.send(publishHeader(head, payload.length, 1, retain, false, id), payload);
    return undefined;
  }

  /**
   * Subscribes; `done` gets the granted QoS (or 0x80 refused) per filter, or a Failure if the
   * connection ends first. Returns a Failure when disconnected ("not-connected"), for an invalid
   * filter ("mqtt-invalid-topic"), more than 8 filters or more than 50 subscriptions
   * ("mqtt-too-many-subscriptions"); otherwise undefined.
   */
  subscribe(filters: { filter: string; qos: 0 | 1 }[], done: (result: (0 | 1 | 0x80)[] | Failure) => void): Failure | undefined {
    const names = filters.map((f) => f.filter);
    const subscribed = (this.#subscriptions ??= new Set());
    if (names.length > MAX_FILTERS_PER_SUBSCRIBE || new Set([...subscribed, ...names]).size > MAX_SUBSCRIPTIONS) {
      return failure("mqtt-too-many-subscriptions", `max ${MAX_FILTERS_PER_SUBSCRIBE} per SUBSCRIBE, ${MAX_SUBSCRIPTIONS} in all; use fewer filters`);
    }
    return this.request(names, filters.map((f) => f.qos), done);
  }

  /** Unsubscribes; same synchronous Failures as subscribe(); `done` gets a Failure if the connection ends first. */
  unsubscribe(filters: string[], done?: (failure?: Failure) => void): Failure | undefined {
    return this.request(filters, undefined, done);
  }

  /** Sends DISCONNECT (when connected) and closes; `onDisconnected()` follows with no failure. */
  disconnect(): void {
    if (!this.#link) return;
    if (this.#connected) this.send(DISCONNECT);
    this.end();
  }

  // ---- PacketSink: called by this client's own parser only ----

  onConnack(sessionPresent: boolean, code: number): void {
    if (!this.#opened || this.#connected) return this.end(protocolError("CONNACK"));
    if (code) {
      return this.end(failure(`connack-${CONNACK_CODES[code - 1]}`, `CONNACK ${code} refused; ${CONNACK_FIXES[code - 1]}`, code === 3));
    }
    this.#connected = true;
    if (!sessionPresent) this.#subscriptions = undefined;
    this.log(`connected, session present ${sessionPresent}`);
    this.#inFlight?.forEach((e, id) => {
      this.send(publishHeader(e.head, e.payload.length, 1, e.retain, sessionPresent && e.sent, id), e.payload);
      e.sent = true;
    });
    this.call(this.#events.onConnected, { sessionPresent });
  }

  onPublish(topic: string, payload: Uint8Array, flags: number, packetId: number): void {
    if (!this.#connected) return this.end(protocolError("PUBLISH"));
    const link = this.#link;
    try {
      this.#events.onMessage(topic, payload, { qos: ((flags >> 1) & 1) as 0 | 1, retain: !!(flags & 1), dup: !!(flags & 8) });
    } catch (e) {
      this.log(`onMessage threw ${e}`, 2);
    }
    if (flags & 2 && this.#link === link) this.send(encodePuback(packetId));
  }

  onAck(type: number, packetId: number, body: Uint8Array): void {
    // a PUBACK answers an in-flight publish; a SUBACK or UNSUBACK a request of its own kind
    const table = type === 4 ? this.#inFlight : this.#pending;
    const entry = table?.get(packetId);
    if (!entry) return;
    let result: (0 | 1 | 0x80)[] | undefined;
    if (type !== 4) {
      const { filters, ack } = entry as Pending;
      if (ack !== type) return;
      // subscribe() made the set; a CONNACK that drops it also ended the requests before it
      const subscribed = this.#subscriptions;
      if (type === 9) result = Array.from(body.subarray(2)) as (0 | 1 | 0x80)[];
      filters.forEach((f, i) => {
        if (!result) subscribed?.delete(f);
        else if (result[i] < 0x80) subscribed!.add(f);
      });
    }
    table!.delete(packetId);
    if (entry.done) this.call(entry.done as Pending["done"], result);
  }

  onProtocolError(f: Failure): void {
    this.end(f);
  }

  // ---- called by this client's own current Connection only ----

  opened(): void {
    this.#opened = true;
    this.#sent = false;
    this.#idleTicks = this.#silentTicks = 0;
    if (this.#options.keepAliveSeconds > 0) this.schedule();
    this.send(encodeConnect(this.#options));
  }

  closed(f: Failure | undefined): void {
    this.end(this.#connected ? f ?? failure("connection-closed", "server closed the connection", true)
      : this.#opened && (!f || /^connection-(reset|closed)$/.test(f.code)) ? failure("mqtt-closed-before-connack", "closed before CONNACK (provisioning or refused)", true)
      : f ?? failure("tls-handshake-reset", "TLS handshake closed", true));
  }

  // ---- internals ----

  /** SUBSCRIBE with `qos`, UNSUBSCRIBE without. */
  private request(filters: string[], qos: number[] | undefined, done: Pending["done"]): Failure | undefined {
    if (!this.#connected) return NOT_CONNECTED();
    const bytes: Uint8Array[] = [];
    for (const f of filters.length ? filters : [""]) {
      const checked = checkTopic(f, true);
      if ("code" in checked) return checked;
      bytes.push(checked);
    }
    const id = this.newId();
    (this.#pending ??= new Map()).set(id, { filters, ack: qos ? 9 : 11, done });
    this.send(encodeFilters(id, bytes, qos));
    return undefined;
  }

  /** A packet id in 1..65535 that no unacknowledged packet holds. */
  private newId(): number {
    let id = this.#nextId;
    while (this.#inFlight?.has(id) || this.#pending?.has(id)) id = (id % 65535) + 1;
    this.#nextId = (id % 65535) + 1;
    return id;
  }

  private send(bytes: Uint8Array, payload?: Uint8Array): void {
    this.#sent = true;
    this.#transport?.write(bytes, payload);
  }

  /**
   * Runs a caller's callback (an event handler as a method of the events object); one that
   * throws is logged, never thrown into the transport.
   */
  private call<T>(fn: ((arg: T) => void) | undefined, arg: T): void {
    try {
      fn?.call(this.#events, arg);
    } catch (e) {
      this.log(`callback threw ${e}`, 2);
    }
  }

  private log(line: string, level?: 0 | 1 | 2): void {
    this.#platform.log(`mqtt: ${line}`, level);
  }

  private schedule(): void {
    this.#timer = this.#platform.timers.setTimeout(() => this.tick(), (this.#options.keepAliveSeconds * 1000) / TICKS_PER_KEEPALIVE);
  }

  // Its timer has fired: end() may clear it again, which timers take as a no-op.
  private tick(): void {
    const link = this.#link!;
    this.#silentTicks = link.heard ? 0 : this.#silentTicks + 1;
    this.#idleTicks = this.#sent ? 0 : this.#idleTicks + 1;
    link.heard = this.#sent = false;
    if (this.#silentTicks >= 6) {
      const connected = this.#connected;
      return this.end(failure(connected ? "mqtt-keepalive-timeout" : "mqtt-connack-timeout", `no ${connected ? "data" : "CONNACK"} within 1.5x keep-alive`, true));
    }
    if (this.#connected && (this.#idleTicks >= 3 || this.#silentTicks === 3)) {
      this.#idleTicks = 0;
      this.send(PINGREQ);
    }
    this.schedule();
  }

  /** Tears the current connection down and reports it once; the in-flight table stays. */
  private end(f?: Failure): void {
    const transport = this.#transport;
    this.#link?.stop();
    this.#link = this.#transport = undefined;
    this.#connected = this.#opened = false;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    transport?.close();
    this.log(`disconnected${f ? `: ${f.code}` : ""}`, f ? 2 : 1);
    const lost = f ?? NOT_CONNECTED();
    pending?.forEach((p) => this.call(p.done, lost));
    this.call(this.#events.onDisconnected, f);
  }
}

// MQTT 3.1.1 session for AWS IoT Core: CONNECT/CONNACK, QoS 0 and 1 publishing with an
// in-flight table that survives disconnects, SUBSCRIBE/UNSUBSCRIBE, keep-alive and DISCONNECT.
// It joins the serializer (encode.ts), the parser (decode.ts) and a byte stream opened by the
// owner; time comes from the platform's timers. It never reconnects on its own.

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, Transport, TransportEvents } from "../platform/seam.js";
import { PacketDecoder, protocolError, type PacketSink } from "./decode.js";
import { DISCONNECT, PINGREQ, encodeConnect, encodePuback, encodePublish, encodeSubscribe, encodeUnsubscribe, setDup } from "./encode.js";
import { MAX_FILTERS_PER_SUBSCRIBE, MAX_IN_FLIGHT, MAX_SUBSCRIPTIONS, checkClientId, checkKeepAlive, checkPayload, checkTopic } from "./validate.js";

export interface MqttConnectOptions {
  clientId: string;
  cleanSession: boolean;
  keepAliveSeconds: number;
  username?: string;
  password?: Uint8Array;
  will?: { topic: string; payload: Uint8Array; qos: 0 | 1; retain?: boolean };
}

export interface MqttClientEvents {
  onConnected(info: { sessionPresent: boolean }): void;
  /** inbound QoS 1 is PUBACKed after this returns */
  onMessage(topic: string, payload: Uint8Array, info: { qos: 0 | 1; retain: boolean; dup: boolean }): void;
  /** once per connect() that got as far as opening; failure undefined after our own disconnect() */
  onDisconnected(failure?: Failure): void;
}

/** Opens a byte stream already configured (TLS socket, or WebSocket over TLS). */
export type OpenStream = (events: TransportEvents) => Transport;

interface InFlight {
  packet: Uint8Array; // the encoded PUBLISH, resent as is (DUP flipped)
  done: ((failure?: Failure) => void) | undefined;
  sent: boolean;
}

interface Pending {
  filters: string[];
  subscribe: boolean;
  // SUBSCRIBE: (granted QoS per filter | Failure); UNSUBSCRIBE: (Failure?)
  done: ((result?: any) => void) | undefined;
}

const CONNACK_CODES = ["", "unacceptable-protocol", "identifier-rejected", "server-unavailable", "bad-credentials", "not-authorized"];
const CONNACK_FIXES = ["", "needs MQTT 3.1.1", "change client id", "try later", "check username/password", "check certificate and policy"];

// The keep-alive timer ticks four times per keep-alive period: a PINGREQ goes out after
// 3-4 ticks without sending (or 3 without hearing), the link is dead after 6 silent ticks.
const TICKS_PER_KEEPALIVE = 4;

const NOT_CONNECTED = () => failure("not-connected", "not connected: wait for onConnected", true);

export class MqttClient implements PacketSink {
  #platform: Pick<Platform, "clock" | "timers" | "log">;
  #options: MqttConnectOptions;
  #events: MqttClientEvents;
  #transport: Transport | undefined;
  #decoder: PacketDecoder | undefined; // identifies the current connection
  #opened = false;
  #connected = false;
  #inFlight = new Map<number, InFlight>();
  #pending = new Map<number, Pending>();
  #subscriptions = new Set<string>();
  #nextId = 1;
  #timer: unknown;
  #sent = false; // something was written since the last tick
  #heard = false; // something was received since the last tick
  #idleTicks = 0;
  #silentTicks = 0;
  #topic = ""; // last published topic and its validated bytes
  #topicBytes: Uint8Array | undefined;
  #tick = () => this.#onTick();

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
    return this.#inFlight.size;
  }

  /**
   * Opens a stream with `open` and sends CONNECT once it is open. Invalid options, a failed
   * open, a refused CONNACK or a lost link all end in one `onDisconnected(failure)`.
   * Ignored (logged) while a connection is already under way.
   */
  connect(open: OpenStream): void {
    if (this.#decoder) return this.#platform.log("mqtt: already connecting");
    const invalid = this.#checkOptions();
    if (invalid) {
      this.#platform.timers.setTimeout(() => this.#events.onDisconnected(invalid), 0);
      return;
    }
    const decoder = new PacketDecoder(this);
    this.#decoder = decoder;
    this.#opened = false;
    const events: TransportEvents = {
      onOpen: () => { if (this.#decoder === decoder) this.#onOpen(); },
      onData: (bytes) => { if (this.#decoder === decoder) { this.#heard = true; decoder.push(bytes); } },
      onClose: (f) => { if (this.#decoder === decoder) this.#onClose(f); },
    };
    this.#platform.log(`mqtt: connecting as ${this.#options.clientId}`);
    try {
      this.#transport = open(events);
    } catch (e) {
      this.#end(failure("transport-open-failed", `open failed (${e}); check the endpoint`, true));
    }
  }

  /**
   * Publishes. Returns a Failure for an invalid topic or payload ("mqtt-invalid-topic",
   * "mqtt-payload-too-large"), a full in-flight table ("mqtt-in-flight-full") or QoS 0 while
   * disconnected ("not-connected"); otherwise undefined. QoS 1 is kept until PUBACK, across
   * reconnects, and `done()` runs then; QoS 0 calls `done()` once written.
   */
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (failure?: Failure) => void, retain = false): Failure | undefined {
    let bytes = this.#topicBytes;
    if (topic !== this.#topic || !bytes) {
      const checked = checkTopic(topic, false);
      if (!(checked instanceof Uint8Array)) return checked;
      this.#topic = topic;
      this.#topicBytes = bytes = checked;
    }
    const tooLarge = checkPayload(payload);
    if (tooLarge) return tooLarge;
    if (qos === 0) {
      if (!this.#connected) return NOT_CONNECTED();
      this.#send(encodePublish(bytes, payload, 0, retain, false, 0));
      if (done) done();
      return undefined;
    }
    if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      return failure("mqtt-in-flight-full", "in-flight table full; wait for done()", true);
    }
    const id = this.#allocateId();
    const packet = encodePublish(bytes, payload, 1, retain, false, id);
    this.#inFlight.set(id, { packet, done, sent: this.#connected });
    if (this.#connected) this.#send(packet);
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
    const added = names.filter((f) => !this.#subscriptions.has(f)).length;
    if (names.length > MAX_FILTERS_PER_SUBSCRIBE || this.#subscriptions.size + added > MAX_SUBSCRIPTIONS) {
      return failure("mqtt-too-many-subscriptions", `max ${MAX_FILTERS_PER_SUBSCRIBE} per SUBSCRIBE, ${MAX_SUBSCRIPTIONS} in all; use fewer filters`);
    }
    return this.#request(names, 0x82, filters.map((f) => f.qos), { filters: names, subscribe: true, done });
  }

  /** Unsubscribes; same synchronous Failures as subscribe(); `done` gets a Failure if the connection ends first. */
  unsubscribe(filters: string[], done?: (failure?: Failure) => void): Failure | undefined {
    return this.#request(filters, 0xa2, undefined, { filters, subscribe: false, done });
  }

  /** Sends DISCONNECT (when connected) and closes; `onDisconnected()` follows with no failure. */
  disconnect(): void {
    if (!this.#decoder) return;
    if (this.#connected) this.#send(DISCONNECT);
    this.#end(undefined);
  }

  // ---- PacketSink: called by this client's own parser only ----

  onConnack(sessionPresent: boolean, code: number): void {
    if (!this.#opened || this.#connected) return this.onProtocolError(protocolError("CONNACK"));
    if (code !== 0) {
      return this.#end(failure(`connack-${CONNACK_CODES[code]}`, `CONNACK ${code} refused the connection; ${CONNACK_FIXES[code]}`, code === 3));
    }
    this.#connected = true;
    if (!sessionPresent) this.#subscriptions.clear();
    this.#platform.log(`mqtt: connected, session present ${sessionPresent}`);
    for (const entry of this.#inFlight.values()) {
      setDup(entry.packet, sessionPresent && entry.sent);
      entry.sent = true;
      this.#send(entry.packet);
    }
    this.#events.onConnected({ sessionPresent });
  }

  onPublish(topic: string, payload: Uint8Array, flags: number, packetId: number): void {
    if (!this.#connected) return this.onProtocolError(protocolError("PUBLISH"));
    const decoder = this.#decoder;
    try {
      this.#events.onMessage(topic, payload, { qos: ((flags >> 1) & 1) as 0 | 1, retain: (flags & 1) === 1, dup: (flags & 8) !== 0 });
    } catch (e) {
      this.#platform.log(`mqtt: onMessage threw ${e}`);
    }
    if (flags & 2 && this.#decoder === decoder) this.#send(encodePuback(packetId));
  }

  onAck(type: number, packetId: number): void {
    if (type === 4) {
      const entry = this.#inFlight.get(packetId);
      if (!entry) return;
      this.#inFlight.delete(packetId);
      if (entry.done) this.#callback(entry.done, undefined);
      return;
    }
    const pending = this.#pending.get(packetId);
    if (!pending || pending.subscribe) return;
    this.#pending.delete(packetId);
    for (const f of pending.filters) this.#subscriptions.delete(f);
    if (pending.done) this.#callback(pending.done, undefined);
  }

  onSuback(packetId: number, codes: Uint8Array): void {
    const pending = this.#pending.get(packetId);
    if (!pending || !pending.subscribe) return;
    this.#pending.delete(packetId);
    const result = Array.from(codes) as (0 | 1 | 0x80)[];
    for (let i = 0; i < result.length; i++) if (result[i] !== 0x80 && i < pending.filters.length) this.#subscriptions.add(pending.filters[i]);
    this.#callback(pending.done!, result);
  }

  onPingresp(): void {}

  onProtocolError(f: Failure): void {
    this.#end(f);
  }

  // ---- internals ----

  #checkOptions(): Failure | undefined {
    const o = this.#options;
    const will = o.will;
    if (will) {
      const topic = checkTopic(will.topic, false);
      if (!(topic instanceof Uint8Array)) return topic;
      const payload = checkPayload(will.payload);
      if (payload) return payload;
    }
    return checkClientId(o.clientId) ?? checkKeepAlive(o.keepAliveSeconds);
  }

  #request(filters: string[], kind: number, qos: number[] | undefined, pending: Pending): Failure | undefined {
    if (!this.#connected) return NOT_CONNECTED();
    const bytes: Uint8Array[] = [];
    for (const f of filters.length ? filters : [""]) {
      const checked = checkTopic(f, true);
      if (!(checked instanceof Uint8Array)) return checked;
      bytes.push(checked);
    }
    const id = this.#allocateId();
    this.#pending.set(id, pending);
    this.#send(qos ? encodeSubscribe(id, bytes, qos) : encodeUnsubscribe(id, bytes));
    return undefined;
  }

  #allocateId(): number {
    let id = this.#nextId;
    while (this.#inFlight.has(id) || this.#pending.has(id)) id = id === 65535 ? 1 : id + 1;
    this.#nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  #send(bytes: Uint8Array): void {
    this.#sent = true;
    this.#transport?.write(bytes);
  }

  #callback<T>(fn: (arg: T) => void, arg: T): void {
    try {
      fn(arg);
    } catch (e) {
      this.#platform.log(`mqtt: callback threw ${e}`);
    }
  }

  #onOpen(): void {
    this.#opened = true;
    this.#sent = this.#heard = false;
    this.#idleTicks = this.#silentTicks = 0;
    const seconds = this.#options.keepAliveSeconds;
    if (seconds > 0) this.#timer = this.#platform.timers.setTimeout(this.#tick, (seconds * 1000) / TICKS_PER_KEEPALIVE);
    this.#send(encodeConnect(this.#options));
  }

  #onTick(): void {
    this.#timer = undefined;
    this.#silentTicks = this.#heard ? 0 : this.#silentTicks + 1;
    this.#idleTicks = this.#sent ? 0 : this.#idleTicks + 1;
    this.#heard = this.#sent = false;
    if (this.#silentTicks >= 6) {
      return this.#end(this.#connected
        ? failure("mqtt-keepalive-timeout", "no data for 1.5x keep-alive; reconnect", true)
        : failure("mqtt-connack-timeout", "no CONNACK within 1.5x keep-alive; reconnect", true));
    }
    if (this.#connected && (this.#idleTicks >= 3 || this.#silentTicks === 3)) {
      this.#idleTicks = 0;
      this.#send(PINGREQ);
    }
    this.#timer = this.#platform.timers.setTimeout(this.#tick, (this.#options.keepAliveSeconds * 1000) / TICKS_PER_KEEPALIVE);
  }

  #onClose(f: Failure | undefined): void {
    if (this.#connected) {
      f ??= failure("connection-closed", "server closed the connection; reconnect", true);
    } else if (this.#opened && (!f || f.code === "connection-reset" || f.code === "connection-closed")) {
      f = failure("mqtt-closed-before-connack", "closed before CONNACK (provisioning or refused): retry later", true);
    } else {
      f ??= failure("tls-handshake-reset", "TLS handshake closed: retry later", true);
    }
    this.#end(f);
  }

  /** Tears the current connection down and reports it once; the in-flight table stays. */
  #end(f: Failure | undefined): void {
    const transport = this.#transport;
    this.#decoder?.stop();
    this.#decoder = undefined;
    this.#transport = undefined;
    this.#connected = this.#opened = false;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    transport?.close();
    this.#platform.log(`mqtt: disconnected${f ? `: ${f.code}` : ""}`);
    const lost = f ?? NOT_CONNECTED();
    for (const p of pending) if (p.done) this.#callback(p.done, lost);
    this.#callback((x) => this.#events.onDisconnected(x), f);
  }
}

// The one module that knows aedes beyond its documented API. The broker needs four things
// aedes does not offer as options: to see each chunk of bytes before its parser buffers it
// (packet-size and pre-authentication limits), to screen each decoded packet before aedes
// handles it (rate limits, SUBSCRIBE filter count), to stand between aedes and a client's QoS 1
// deliveries (the in-flight limit), and to refresh a keep-alive timer or discard a stored
// session. Each reaches a member of aedes 1.2.0 (pinned exactly in package.json) that is not
// part of its typings; `requireInternals` checks every one of them on every connection and
// fails with the member's name if a release moved it (host-tests/iotcore/aedes-adapter.test.ts
// runs the same check on its own).
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client } from "aedes";
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";

/** The aedes release whose internals this module reads (package.json pins it). */
export const AEDES_VERSION = "1.2.0";

export type InboundPacket = { cmd: string; length?: number; topic?: string; payload?: Buffer; subscriptions?: { qos: number }[] };
export type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

/** What the adapter reads on an aedes Client: name -> the `typeof` it must have. */
const CLIENT_INTERNALS = {
  _parser: "object",
  deliverQoS: "function",
  duplicates: "object",
  _keepaliveTimer: "object",   // null until CONNECT is accepted, then a Timeout
} as const;
const PARSER_INTERNALS = { parse: "function", listeners: "function", on: "function", removeAllListeners: "function" } as const;
const BROKER_INTERNALS = { clients: "object", persistence: "object" } as const;
const PERSISTENCE_INTERNALS = { cleanSubscriptions: "function", outgoingStream: "function", outgoingUpdate: "function", outgoingClearMessageId: "function" } as const;

interface ClientInternals {
  _parser: EventEmitter & { parse(chunk: Buffer): number };
  deliverQoS: Deliver;
  duplicates: Record<string, number>;
  _keepaliveTimer: NodeJS.Timeout | null;
}
type StoredPacket = { messageId?: number | null; brokerId?: string; brokerCounter?: number };
interface SessionStore {
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<StoredPacket>;
  outgoingUpdate(client: { id: string }, packet: StoredPacket): Promise<unknown>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
  destroy?(): Promise<unknown>;
}
interface BrokerInternals {
  clients: Record<string, Client>;
  persistence: SessionStore;
  version: string;
}

/** Throws, naming the member, when `target` lacks one of `members` with the expected type. */
function requireMembers(target: object, owner: string, members: Record<string, string>): void {
  for (const [name, type] of Object.entries(members)) {
    const value = (target as Record<string, unknown>)[name];
    if (typeof value !== type && !(name === "_keepaliveTimer" && value === null)) {
      throw new Error(`aedes changed: ${owner}.${name} is ${value === null ? "null" : typeof value}, not ${type}; the stand-in's broker is written for aedes ${AEDES_VERSION} (host/iotcore/dataplane/aedes-adapter.ts)`);
    }
  }
}

/** Checks every internal the adapter uses on a broker and one of its clients; throws naming the first one missing. */
export function requireInternals(aedes: Aedes, client: Client): void {
  const broker = aedes as unknown as BrokerInternals;
  if (broker.version !== AEDES_VERSION) throw new Error(`aedes ${broker.version} is installed; the stand-in's broker is written for aedes ${AEDES_VERSION} (npm install aedes@${AEDES_VERSION})`);
  requireMembers(broker, "Aedes", BROKER_INTERNALS);
  requireMembers(broker.persistence, "Aedes.persistence", PERSISTENCE_INTERNALS);
  requireMembers(client, "Client", CLIENT_INTERNALS);
  requireMembers((client as unknown as ClientInternals)._parser, "Client._parser", PARSER_INTERNALS);
}

/** How many recent deliveries per client firstDelivery remembers (overlapping subscriptions deliver within one publish). */
const DELIVERIES_REMEMBERED = 4096;

export class AedesAdapter {
  private readonly delivered = new WeakMap<Client, Set<string>>();
  private constructor(readonly aedes: Aedes, private readonly store: SessionStore) {}

  /** Starts aedes with `persistence` (aedes' in-memory store when absent). */
  static async create(options: AedesOptions): Promise<AedesAdapter> {
    const aedes = await Aedes.createBroker(options);
    return new AedesAdapter(aedes, (aedes as unknown as BrokerInternals).persistence);
  }

  /** Serves MQTT on `stream`; throws (before any byte is read) if aedes' internals moved. */
  handle(stream: Duplex): Client {
    const client = this.aedes.handle(stream);
    try {
      requireInternals(this.aedes, client);
    } catch (error) {
      stream.destroy();
      throw error;
    }
    return client;
  }

  /** The connected client holding `clientId`, if any. */
  client(clientId: string): Client | undefined {
    const clients = (this.aedes as unknown as BrokerInternals).clients;
    return Object.hasOwn(clients, clientId) ? clients[clientId] : undefined;
  }

  clients(): Client[] {
    return Object.values((this.aedes as unknown as BrokerInternals).clients);
  }

  /**
   * Calls `screen` with every chunk of bytes before aedes' parser buffers it; a chunk for which
   * it returns false is thrown away (the caller drops the connection).
   */
  screenBytes(client: Client, screen: (chunk: Buffer) => boolean): void {
    const parser = (client as unknown as ClientInternals)._parser;
    const parse = parser.parse.bind(parser);
    parser.parse = (chunk: Buffer) => (screen(chunk) ? parse(chunk) : 0);
  }

  /** Calls `admit` with every decoded packet before aedes handles it; false: aedes never sees it. */
  screenPackets(client: Client, admit: (packet: InboundPacket) => boolean): void {
    const parser = (client as unknown as ClientInternals)._parser;
    const handlers = parser.listeners("packet") as ((this: unknown, packet: InboundPacket) => void)[];
    parser.removeAllListeners("packet");
    parser.on("packet", function (this: unknown, packet: InboundPacket) {
      if (admit(packet)) for (const handler of handlers) handler.call(this, packet);
    });
  }

  /**
   * Puts `wrap(original)` in place of the client's QoS 1 delivery; returns aedes' own, which
   * the wrapper calls to send (it counts the delivery through authorizeForward synchronously).
   */
  wrapDelivery(client: Client, wrap: (original: Deliver) => Deliver): Deliver {
    const internals = client as unknown as ClientInternals;
    const original = internals.deliverQoS;
    internals.deliverQoS = wrap(original);
    return original;
  }

  /**
   * True the first time a message reaches the client's delivery, false for the same message
   * again (another of the client's subscriptions matching it). aedes tells them apart by a
   * high-water mark of the broker's counter, but with a session store the counter is taken
   * before the store's asynchronous writes, so messages can reach delivery out of counter order
   * and the mark would drop an earlier one that was never sent (an acknowledged message lost).
   * This remembers the messages themselves (the last few thousand per client) and lowers
   * aedes' mark for each first delivery.
   */
  firstDelivery(client: Client, packet: AedesPublishPacket): boolean {
    if (!packet.brokerId) return true;
    let seen = this.delivered.get(client);
    if (!seen) this.delivered.set(client, (seen = new Set()));
    const key = `${packet.brokerId}:${packet.brokerCounter}`;
    if (seen.has(key)) return false;
    seen.add(key);
    if (seen.size > DELIVERIES_REMEMBERED) seen.delete(seen.values().next().value!);
    this.allowLateDelivery(client, packet);
    return true;
  }

  /**
   * aedes skips a message whose broker counter is not above the last one it delivered to the
   * client; a held-back message goes out after later ones, so its mark is lowered first.
   */
  allowLateDelivery(client: Client, packet: AedesPublishPacket): void {
    if (!packet.brokerId) return;
    const duplicates = (client as unknown as ClientInternals).duplicates;
    duplicates[packet.brokerId] = Math.min(duplicates[packet.brokerId] ?? 0, packet.brokerCounter - 1);
  }

  /** Restarts the client's keep-alive wait (a packet arrived that aedes will not see). */
  refreshKeepAlive(client: Client): void {
    (client as unknown as ClientInternals)._keepaliveTimer?.refresh();
  }

  /**
   * Discards a stored session's subscriptions and queued messages; resolves how many messages
   * went. Through the persistence API only: a queued message that was never sent has no message
   * id, and the level store clears by id, so each gets a free id first (the level store reads it as null).
   */
  async discardSession(clientId: string): Promise<number> {
    const who = { id: clientId };
    await this.store.cleanSubscriptions(who);
    const queued: StoredPacket[] = [];
    for await (const packet of this.store.outgoingStream(who)) queued.push(packet);
    const idOf = (packet: StoredPacket) => (typeof packet.messageId === "number" ? packet.messageId : undefined);
    const used = new Set(queued.map(idOf));
    let free = 1;
    for (const packet of queued) {
      let messageId = idOf(packet);
      if (messageId === undefined) {
        while (used.has(free)) free++;
        messageId = free++;
        await this.store.outgoingUpdate(who, { ...packet, messageId });
      }
      await this.store.outgoingClearMessageId(who, { messageId });
    }
    return queued.length;
  }

  /**
   * Closes every client, then `beforeStoreCloses` (last writes beside the sessions), then the
   * store (a database is released for the next start).
   */
  async close(beforeStoreCloses: () => Promise<void> = async () => undefined): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await beforeStoreCloses();
    await this.store.destroy?.();
  }
}

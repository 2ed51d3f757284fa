// MQTT 3.1.1 serializer for every packet a client sends. Pure: bytes in, bytes out; it knows
// nothing of sockets, sessions or time. Inputs are assumed valid (see validate.ts): the
// session checks limits once, so the hot path does not check them twice.

export const encoder = new TextEncoder();

export const PINGREQ = Uint8Array.of(0xc0, 0);
export const DISCONNECT = Uint8Array.of(0xe0, 0);

/** Allocates a packet with its fixed header written; the body starts at `length - remaining`. */
function packet(first: number, remaining: number): Uint8Array {
  const buf = new Uint8Array(1 + lengthBytes(remaining) + remaining);
  buf[0] = first;
  putLength(buf, 1, remaining);
  return buf;
}

/** How many bytes the remaining length takes (MQTT's variable-length integer). */
function lengthBytes(remaining: number): number {
  return remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
}

function putLength(buf: Uint8Array, o: number, remaining: number): void {
  do {
    let digit = remaining & 0x7f;
    remaining >>>= 7;
    if (remaining > 0) digit |= 0x80;
    buf[o++] = digit;
  } while (remaining > 0);
}

/** A two-byte integer (a packet id, a length). */
function putId(buf: Uint8Array, o: number, id: number): number {
  buf[o] = id >> 8;
  buf[o + 1] = id & 0xff;
  return o + 2;
}

/** Bytes with their two-byte length before them. */
function putBytes(buf: Uint8Array, o: number, bytes: Uint8Array): number {
  buf.set(bytes, (o = putId(buf, o, bytes.length)));
  return o + bytes.length;
}

export interface ConnectFields {
  clientId: string;
  cleanSession: boolean;
  /** Whole seconds, 0 (none) to 65535; the caller's to check (the device config allows 30-1200). */
  keepAliveSeconds: number;
  username?: string;
  password?: Uint8Array;
  will?: { topic: string; payload: Uint8Array; qos: 0 | 1; retain?: boolean };
}

/** CONNECT for protocol level 4 (3.1.1). */
export function encodeConnect(c: ConnectFields): Uint8Array {
  const { will, password } = c;
  const id = encoder.encode(c.clientId);
  const willTopic = will && encoder.encode(will.topic);
  const user = c.username === undefined ? undefined : encoder.encode(c.username);
  let remaining = 12 + id.length;
  if (will) remaining += 4 + willTopic!.length + will.payload.length;
  if (user) remaining += 2 + user.length;
  if (password) remaining += 2 + password.length;
  const buf = packet(0x10, remaining);
  let o = buf.length - remaining;
  buf.set(PROTOCOL, o);
  buf[o + 7] = (c.cleanSession ? 0x02 : 0) | (will ? 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0) : 0) | (user ? 0x80 : 0) | (password ? 0x40 : 0);
  o = putBytes(buf, putId(buf, o + 8, c.keepAliveSeconds), id);
  if (will) o = putBytes(buf, putBytes(buf, o, willTopic!), will.payload);
  if (user) o = putBytes(buf, o, user);
  if (password) putBytes(buf, o, password);
  return buf;
}

// "MQTT" as a length-prefixed string, then protocol level 4.
const PROTOCOL = Uint8Array.of(0, 4, 0x4d, 0x51, 0x54, 0x54, 4);

// A PUBLISH head: room for the fixed header (type byte and up to 4 length bytes), then the
// topic with its length, then the packet id. Made once per topic and filled in per message,
// so publishing copies neither the topic nor the payload.
const ROOM = 5;

/** The reusable head of PUBLISH packets to `topic` (UTF-8), for publishHeader(). */
export function publishHead(topic: Uint8Array): Uint8Array {
  const head = new Uint8Array(ROOM + 2 + topic.length + 2);
  putBytes(head, ROOM, topic);
  return head;
}

/**
 * Fills in `head` (from publishHead) for one PUBLISH and returns the view of it that goes on the
 * wire right before the `payloadLength` payload bytes; `id` is ignored for QoS 0.
 */
export function publishHeader(head: Uint8Array, payloadLength: number, qos: 0 | 1, retain: boolean, dup: boolean, id: number): Uint8Array {
  let end = head.length - 2;
  if (qos) {
    head[end++] = id >> 8;
    head[end++] = id & 0xff;
  }
  const remaining = end - ROOM + payloadLength;
  const start = remaining < 128 ? ROOM - 2 : ROOM - 1 - lengthBytes(remaining);
  head[start] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0);
  if (remaining < 128) head[ROOM - 1] = remaining;
  else putLength(head, start + 1, remaining);
  return head.subarray(start, end);
}

/** PUBLISH as one buffer; `id` is ignored for QoS 0. (The session sends header and payload apart.) */
export function encodePublish(topic: Uint8Array, payload: Uint8Array, qos: 0 | 1, retain: boolean, dup: boolean, id: number): Uint8Array {
  const header = publishHeader(publishHead(topic), payload.length, qos, retain, dup, id);
  const buf = new Uint8Array(header.length + payload.length);
  buf.set(header);
  buf.set(payload, header.length);
  return buf;
}

/** Sets or clears the DUP flag of an encoded PUBLISH in place, for a resend. */
export function setDup(publish: Uint8Array, dup: boolean): void {
  publish[0] = dup ? publish[0] | 0x08 : publish[0] & 0xf7;
}

export function encodePuback(id: number): Uint8Array {
  return Uint8Array.of(0x40, 2, id >> 8, id & 0xff);
}

/** SUBSCRIBE (with a requested QoS per filter) or, without `qos`, UNSUBSCRIBE; filters as UTF-8 bytes. */
export function encodeFilters(id: number, filters: Uint8Array[], qos?: number[]): Uint8Array {
  let remaining = 2;
  for (const f of filters) remaining += (qos ? 3 : 2) + f.length;
  const buf = packet(qos ? 0x82 : 0xa2, remaining);
  let o = putId(buf, buf.length - remaining, id);
  for (let i = 0; i < filters.length; i++) {
    o = putBytes(buf, o, filters[i]);
    if (qos) buf[o++] = qos[i];
  }
  return buf;
}

/** SUBSCRIBE; filters as UTF-8 bytes with their requested QoS. */
export function encodeSubscribe(id: number, filters: Uint8Array[], qos: number[]): Uint8Array {
  return encodeFilters(id, filters, qos);
}

/** UNSUBSCRIBE; filters as UTF-8 bytes. */
export function encodeUnsubscribe(id: number, filters: Uint8Array[]): Uint8Array {
  return encodeFilters(id, filters);
}

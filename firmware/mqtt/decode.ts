// Resumable MQTT 3.1.1 parser for every packet a server sends to a client. Fed whatever the
// transport delivers (one byte, half a packet, ten packets); a packet that arrives whole in
// one chunk is handed on as a view of that chunk, with no copy. Malformed input stops the
// parser and becomes one `onProtocolError` call; nothing here throws.

import { failure, type Failure } from "../platform/failure.js";

/** What the parser reports; the session implements it. Views stay valid after the call. */
export interface PacketSink {
  onConnack(sessionPresent: boolean, returnCode: number): void;
  /** `flags` is the fixed header's low nibble: DUP 0x08, QoS (flags >> 1) & 3, RETAIN 0x01. */
  onPublish(topic: string, payload: Uint8Array, flags: number, packetId: number): void;
  /**
   * PUBACK (type 4), SUBACK (9), UNSUBACK (11) or PINGRESP (13, packet id 0). `body` is the
   * packet's body: a SUBACK's return codes follow its packet id (`body.subarray(2)`).
   */
  onAck(type: number, packetId: number, body: Uint8Array): void;
  onProtocolError(failure: Failure): void;
}

// Large enough for AWS IoT's 128 KB payload plus a maximal topic and header.
export const DEFAULT_MAX_PACKET = 128 * 1024 + 1024;

const text = new TextDecoder();

/** "mqtt-protocol-error" for a packet the server should not have sent. */
export function protocolError(what: string): Failure {
  return failure("mqtt-protocol-error", `malformed ${what} from the server; reconnect`, true);
}

export class PacketDecoder {
  protected readonly sink: PacketSink;
  #max: number;
  #first = -1; // fixed header byte of the packet being read, -1 between packets
  #length = 0; // remaining length read so far
  #shift = 1; // multiplier of the next remaining-length digit
  #body: Uint8Array | undefined; // body being assembled across chunks
  #filled = 0;
  #stopped = false;

  constructor(sink: PacketSink, maxPacketBytes = DEFAULT_MAX_PACKET) {
    this.sink = sink;
    this.#max = maxPacketBytes;
  }

  /** Stops parsing: later bytes, and the rest of the current chunk, are ignored. */
  stop(): void {
    this.#stopped = true;
  }

  /** True after stop() or an error. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Parses `chunk`, reporting each complete packet; ignored after an error or `stop()`. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.#stopped) {
      const body = this.#body;
      if (body) {
        const part = chunk.subarray(i, i + body.length - this.#filled); // up to the chunk's end
        body.set(part, this.#filled);
        i += part.length;
        if ((this.#filled += part.length) === body.length) {
          this.#body = undefined;
          this.#dispatch(this.#first, body);
        }
      } else if (this.#first < 0) {
        // A whole packet with a one-byte remaining length (acks, small messages) skips the
        // byte-by-byte header below. It is a view of the chunk, so the size limit (which
        // guards allocations) does not apply to it.
        const length = chunk[i + 1]; // undefined past the chunk's end
        if (length < 128 && i + 2 + length <= n) {
          this.#dispatch(chunk[i], chunk.subarray(i + 2, (i += 2 + length)));
        } else {
          this.#first = chunk[i++];
          this.#length = 0;
          this.#shift = 1;
        }
      } else {
        const digit = chunk[i++];
        this.#length += (digit & 0x7f) * this.#shift;
        if (digit & 0x80) {
          this.#shift *= 128;
          if (this.#shift > 2097152) this.#fail("remaining length");
        } else if (this.#length > this.#max) {
          this.#fail(`packet of ${this.#length} bytes (limit ${this.#max})`);
        } else if (n - i >= this.#length) {
          this.#dispatch(this.#first, chunk.subarray(i, (i += this.#length)));
        } else {
          this.#body = new Uint8Array(this.#length);
          this.#filled = 0;
        }
      }
    }
  }

  #fail(what: string): void {
    this.#stopped = true;
    this.sink.onProtocolError(protocolError(what));
  }

  #dispatch(first: number, b: Uint8Array): void {
    const type = first >> 4;
    const len = b.length;
    const id = (b[0] << 8) | b[1]; // a PUBLISH's topic length; 0 for an empty body
    this.#first = -1;
    if (type === 3) {
      const qos = (first >> 1) & 3;
      const topicEnd = 2 + id;
      const headerEnd = topicEnd + 2 * qos;
      const packetId = qos ? (b[topicEnd] << 8) | b[topicEnd + 1] : 0;
      if (qos < 2 && (qos ? packetId : !(first & 0x08)) && id && headerEnd <= len) {
        return this.sink.onPublish(text.decode(b.subarray(2, topicEnd)), b.subarray(headerEnd), first & 0x0f, packetId);
      }
    } else if (!(first & 0x0f) && (type === 4 || type === 11 ? len === 2 && id
      : type === 9 ? len > 2 && id && b.every((code, i) => i < 2 || code < 3 || code === 0x80)
      : type === 13 ? !len
      : type === 2 && len === 2 && b[0] < 2 && b[1] < 6)) {
      return type === 2 ? this.sink.onConnack(b[0] === 1, b[1]) : this.sink.onAck(type, id, b);
    }
    this.#fail(NAMES[type] ?? `packet of type ${type}`);
  }
}

// The packets a server may send, by type, for the sentence of a malformed one.
const NAMES: Record<number, string> = { 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 9: "SUBACK", 11: "UNSUBACK", 13: "PINGRESP" };

// Writes to a Moddable socket, which throws when asked to write more than it has room for right
// now (its buffer is 1 KB in the desktop simulator) while the TLS stack writes whole records
// (a Certificate message with the device certificate and its CA is about 2 KB). Bytes that do
// not fit wait here, in order, and go out as room frees up.
//
// Pure (no Moddable import): transport.ts adapts SecureSocket and the TCP socket to `WriteSink`,
// and host tests drive this module directly.

/** Where the bytes go: how many fit now, and a write of at most that many (one piece with `more`). */
export interface WriteSink {
  room(): number;
  write(bytes: Uint8Array, more?: Uint8Array): void;
}

export interface SendOptions {
  /** Queue copies: the caller may change its buffers once `send` returns. */
  copy: boolean;
}

interface Pending {
  bytes: Uint8Array;
  offset: number;
}

export class WriteQueue {
  #sink: WriteSink;
  #chunk: number;
  #queue: Pending[] = [];

  /** `chunk`: the largest piece written at once (bounds the sink's transient buffers). */
  constructor(sink: WriteSink, chunk = Number.MAX_SAFE_INTEGER) {
    this.#sink = sink;
    this.#chunk = chunk;
  }

  /** Bytes still waiting. */
  get pending(): number {
    let total = 0;
    for (const piece of this.#queue) total += piece.bytes.length - piece.offset;
    return total;
  }

  /** The room a writer sees: none while anything waits (order is kept), else the sink's. */
  room(): number {
    return this.#queue.length > 0 ? 0 : this.#sink.room();
  }

  /**
   * Writes `bytes` (then `more`) as one piece when nothing waits, it fits the sink's room and one
   * chunk; otherwise queues them and writes what fits now.
   */
  send(bytes: Uint8Array, more: Uint8Array | undefined, options: SendOptions): void {
    const size = bytes.length + (more ? more.length : 0);
    if (size === 0) return;
    if (this.#queue.length === 0 && size <= this.#chunk && this.#sink.room() >= size) {
      this.#sink.write(bytes, more);
      return;
    }
    this.hold(bytes, more, options);
    this.flush();
  }

  /** Queues `bytes` (then `more`) without writing (e.g. before the TLS handshake is done). */
  hold(bytes: Uint8Array, more: Uint8Array | undefined, options: SendOptions): void {
    for (const piece of more ? [bytes, more] : [bytes]) {
      if (piece.length > 0) this.#queue.push({ bytes: options.copy ? piece.slice() : piece, offset: 0 });
    }
  }

  /** Writes waiting bytes, in order, while the sink has room; returns true when none wait. */
  flush(): boolean {
    while (this.#queue.length > 0) {
      const free = this.#sink.room();
      if (free <= 0) return false;
      const head = this.#queue[0]!;
      const end = Math.min(head.bytes.length, head.offset + Math.min(free, this.#chunk));
      this.#sink.write(head.bytes.subarray(head.offset, end));
      head.offset = end;
      if (end === head.bytes.length) this.#queue.shift();
    }
    return true;
  }

  /** Drops what waits (the socket is going away). */
  clear(): void {
    this.#queue.length = 0;
  }
}

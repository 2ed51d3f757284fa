// Limits read from MQTT fixed headers as bytes arrive, before anything is buffered: a packet
// declaring more than the largest one AWS accepts is refused from its length field, so a
// client cannot make the stand-in hold a 200 MB CONNECT; a connection must open with CONNECT;
// before its CONNECT is accepted a connection may send only so many bytes. Pure: bytes in,
// a refusal sentence out. Where each limit comes from is said at LIMITS (quotas.ts).
import { LIMITS } from "./quotas.js";

const CONNECT = 1;

export interface FrameLimits {
  /** largest remaining length of a CONNECT */
  connectBytes: number;
  /** largest remaining length of any other packet */
  packetBytes: number;
  /** bytes a connection may send before its CONNECT is accepted */
  preAuthBytes: number;
}

export const FRAME_LIMITS: FrameLimits = {
  connectBytes: LIMITS.connectBytes,
  packetBytes: LIMITS.packetBytes,
  preAuthBytes: LIMITS.preAuthBytes,
};

/** Follows packet boundaries through a byte stream without keeping the bytes. */
export class FrameGuard {
  private state: "type" | "length" | "body" = "type";
  private packets = 0;
  private type = 0;
  private length = 0;
  private lengthBytes = 0;
  /** bytes of the current packet's body still to come */
  private remaining = 0;
  private preAuth = 0;
  private accepted = false;
  private refusal: string | undefined;

  constructor(private readonly limits: FrameLimits = FRAME_LIMITS) {}

  /** The connection's CONNECT was accepted: the pre-authentication budget no longer applies. */
  accept(): void {
    this.accepted = true;
  }

  /** Returns why the connection must be dropped, or undefined while the bytes are acceptable. Sticky. */
  feed(chunk: Uint8Array): string | undefined {
    if (this.refusal) return this.refusal;
    // Before acceptance only the budget's remainder is read: the first limit broken in stream
    // order is the one reported, however the bytes were cut into chunks.
    if (!this.accepted) {
      const allowed = this.limits.preAuthBytes - this.preAuth;
      this.preAuth += Math.min(chunk.length, allowed);
      const refusal = this.scan(chunk.length > allowed ? chunk.subarray(0, allowed) : chunk);
      if (refusal || chunk.length <= allowed) return refusal;
      return this.refuse(`more than ${this.limits.preAuthBytes} bytes sent before the CONNECT was accepted`);
    }
    return this.scan(chunk);
  }

  private scan(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === "body") {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = "type";
        continue;
      }
      const byte = chunk[i++];
      if (this.state === "type") {
        this.type = byte >> 4;
        if (this.packets === 0 && this.type !== CONNECT) return this.refuse(`the first packet is type ${this.type}, not CONNECT`);
        this.state = "length";
        this.length = 0;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return this.refuse("a remaining length longer than 4 bytes");
        continue;
      }
      const limit = this.type === CONNECT ? this.limits.connectBytes : this.limits.packetBytes;
      if (this.length > limit) {
        return this.refuse(`a ${this.type === CONNECT ? "CONNECT" : `type ${this.type} packet`} declaring ${this.length} bytes, more than the ${limit}-byte limit`);
      }
      this.packets++;
      this.remaining = this.length;
      this.state = this.remaining > 0 ? "body" : "type";
    }
    return undefined;
  }

  private refuse(why: string): string {
    this.refusal = why;
    return why;
  }
}

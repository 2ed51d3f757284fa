// RFC 6455 framing: the client side's encoder (always masked, never fragmented) and a
// resumable decoder that streams data-frame payloads straight through. MQTT over WebSocket
// is a byte stream, so message boundaries do not matter and fragmented messages need no
// reassembly buffer: each piece of payload goes to the sink as it arrives.

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Close codes we send (RFC 6455 7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_UNSUPPORTED_DATA = 1003;

/** Returns the frame bytes: FIN set, payload masked with the 4-byte `mask`. Cannot fail. */
export function encodeFrame(opcode: number, payload: Uint8Array, mask: Uint8Array): Uint8Array {
  const length = payload.length;
  // Where the mask goes: after the 7-bit length, or the 16-bit (126) or 64-bit (127) one.
  const at = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = new Uint8Array(at + 4 + length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (at < 4 ? length : at < 10 ? 126 : 127);
  for (let i = at, n = length; i > 2; n >>>= 8) frame[--i] = n;
  frame.set(mask, at);
  for (let i = 0; i < length; i++) frame[at + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

export interface FrameSink {
  /** A piece of a binary message's payload (a view into the fed chunk: copy to keep it). */
  onPayload(bytes: Uint8Array): void;
  /** A complete control frame (close, ping, pong). */
  onControl(opcode: number, payload: Uint8Array): void;
}

/** A protocol violation by the server: the close code to send and what went wrong. */
export interface FrameViolation {
  closeCode: number;
  reason: string;
}

/** Feeds bytes in; returns a FrameViolation when the server breaks RFC 6455 (drop the decoder then). */
export type FrameDecoder = (bytes: Uint8Array) => FrameViolation | undefined;

const TEXT_FRAME = "a text frame (MQTT needs binary)";

/**
 * A resumable decoder: data-frame payload streams to `sink.onPayload`, complete control frames
 * go to `sink.onControl`. Once `isStopped()` turns true (a sink callback closed the
 * connection) the rest of the chunk is ignored.
 */
export function createFrameDecoder(sink: FrameSink, isStopped: () => boolean): FrameDecoder {
  const header = new Uint8Array(10);
  const control = new Uint8Array(125);
  let headerHave = 0;
  let opcode = 0;
  let remaining = -1;
  let controlHave = 0;
  /** True between a non-final binary frame and the final continuation frame. */
  let fragmented = false;

  return (bytes) => {
    let at = 0;
    while (at < bytes.length && !isStopped()) {
      if (remaining < 0) {
        header[headerHave++] = bytes[at++];
        const b0 = header[0];
        const short = header[1] & 0x7f;
        const need = short < 126 ? 2 : short < 127 ? 4 : 10;
        if (headerHave < need) continue;
        let length = need < 4 ? short : 0;
        for (let i = 2; i < need; i++) length = length * 256 + header[i];
        const op = b0 & 0x0f;
        const fin = b0 & 0x80;
        const violation = length > 0xffffffff ? "a frame over 4 GiB"
          : b0 & 0x70 ? "reserved bits set"
          : header[1] & 0x80 ? "a masked frame"
          : op >= OP_CLOSE ? (op > OP_PONG || !fin || length > 125 ? `a bad control frame (opcode ${op})` : "")
          : op === OP_TEXT ? TEXT_FRAME
          : (op === OP_CONTINUATION ? !fragmented : op !== OP_BINARY || fragmented) ? `unexpected opcode ${op}` : "";
        if (violation) return { closeCode: violation === TEXT_FRAME ? CLOSE_UNSUPPORTED_DATA : CLOSE_PROTOCOL_ERROR, reason: violation };
        if (op < OP_CLOSE) fragmented = !fin;
        opcode = op;
        remaining = length;
        controlHave = 0;
      }
      const take = Math.min(remaining, bytes.length - at);
      const piece = bytes.subarray(at, at += take);
      remaining -= take;
      if (opcode >= OP_CLOSE) control.set(piece, controlHave);
      else if (take) sink.onPayload(piece);
      controlHave += take;
      if (remaining) continue;
      remaining = -1;
      headerHave = 0;
      if (opcode >= OP_CLOSE) sink.onControl(opcode, control.subarray(0, controlHave));
    }
  };
}

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
  const headerLength = length < 126 ? 6 : length < 0x10000 ? 8 : 14;
  const frame = new Uint8Array(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 0x10000) {
    frame[1] = 0x80 | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setUint32(6, length);
  }
  frame.set(mask, headerLength - 4);
  for (let i = 0; i < length; i++) frame[headerLength + i] = payload[i] ^ mask[i & 3];
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

/**
 * A resumable decoder: data-frame payload streams to `sink.onPayload`, complete control frames
 * go to `sink.onControl`. Once `isStopped()` turns true (a sink callback closed the
 * connection) the rest of the chunk is ignored.
 */
export function createFrameDecoder(sink: FrameSink, isStopped: () => boolean): FrameDecoder {
  const header = new Uint8Array(10);
  const view = new DataView(header.buffer);
  const control = new Uint8Array(125);
  let headerHave = 0;
  let opcode = 0;
  let remaining = 0;
  let inPayload = false;
  let controlHave = 0;
  /** True between a non-final binary frame and the final continuation frame. */
  let fragmented = false;

  function startFrame(): FrameViolation | undefined {
    const b0 = header[0];
    const b1 = header[1];
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let length = b1 & 0x7f;
    if (length === 126) length = view.getUint16(2);
    else if (length === 127) {
      if (view.getUint32(2) !== 0) return protocol("a frame over 4 GiB");
      length = view.getUint32(6);
    }
    if (b0 & 0x70) return protocol("reserved bits set");
    if (b1 & 0x80) return protocol("a masked frame");
    if (op >= OP_CLOSE) {
      if (op > OP_PONG || !fin || length > 125) return protocol(`a bad control frame (opcode ${op})`);
    } else if (op === OP_TEXT) {
      return { closeCode: CLOSE_UNSUPPORTED_DATA, reason: "a text frame (MQTT needs binary)" };
    } else if (op === OP_CONTINUATION ? !fragmented : op !== OP_BINARY || fragmented) {
      return protocol(`unexpected opcode ${op}`);
    } else fragmented = !fin;
    opcode = op;
    remaining = length;
    controlHave = 0;
    inPayload = true;
  }

  return (bytes) => {
    let at = 0;
    while (at < bytes.length && !isStopped()) {
      if (!inPayload) {
        header[headerHave++] = bytes[at++];
        const len = header[1] & 0x7f;
        if (headerHave < (headerHave < 2 ? 2 : len === 126 ? 4 : len === 127 ? 10 : 2)) continue;
        const violation = startFrame();
        if (violation) return violation;
        if (remaining > 0) continue;
      } else {
        const take = Math.min(remaining, bytes.length - at);
        const piece = bytes.subarray(at, at + take);
        at += take;
        remaining -= take;
        if (opcode >= OP_CLOSE) {
          control.set(piece, controlHave);
          controlHave += take;
        } else if (take > 0) sink.onPayload(piece);
        if (remaining > 0) continue;
      }
      inPayload = false;
      headerHave = 0;
      if (opcode >= OP_CLOSE) sink.onControl(opcode, control.subarray(0, controlHave));
    }
  };
}

function protocol(reason: string): FrameViolation {
  return { closeCode: CLOSE_PROTOCOL_ERROR, reason };
}

// A WebSocket client (RFC 6455) as a Transport over another Transport (normally TLS), so the
// MQTT client above it cannot tell the difference. Binary frames only, as MQTT requires.

import { failure, type Failure } from "../platform/failure.js";
import type { Crypto, Platform, Transport, TransportEvents } from "../platform/seam.js";
import { base64Encode } from "./base64.js";
import { concat, createHeadReader, requestHead, text } from "./http-head.js";
import {
  CLOSE_NORMAL, createFrameDecoder, encodeFrame, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,
} from "./frames.js";

export interface WebSocketOptions {
  /** Host header value (`name` or `name:port`); for SigV4 it must be what was signed. */
  host: string;
  /** Request target: path and query, e.g. `/mqtt` or a presigned `/mqtt?X-Amz-...`. */
  path: string;
  /** Subprotocol to ask for and insist on ("mqtt" for AWS IoT). */
  protocol: string;
  /** Extra request headers, e.g. the custom authorizer's name, signature and token. */
  headers?: [string, string][];
  /** How long to wait for the upgrade answer; default 15 s. */
  handshakeTimeoutMs?: number;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// The states, in the order they come (the inner transport closes once: CLOSING is the last).
// UPGRADING: from the start (TLS opening) to the verified 101 answer.
const UPGRADING = 0;
const OPEN = 1;
const CLOSING = 2;

/**
 * Opens the WebSocket: `openInner` is called at once, the upgrade request goes out when it
 * opens, and `events.onOpen` follows a verified 101 answer. Failures reach `events.onClose`:
 * the inner transport's own (TLS) failure unchanged, or "websocket-upgrade-refused" (HTTP
 * status in the message), "websocket-handshake-invalid", "websocket-handshake-timeout",
 * "websocket-upgrade-dropped", "websocket-protocol-error", "connection-closed" (the server closed; its close code in the
 * message), "http-malformed-response".
 */
export function openWebSocket(
  platform: Pick<Platform, "random" | "timers"> & { crypto: Pick<Crypto, "sha1"> },
  openInner: (events: TransportEvents) => Transport,
  options: WebSocketOptions,
  events: TransportEvents,
): Transport {
  const { protocol } = options;
  let state = UPGRADING;
  // Why we close (undefined: asked to), once state is CLOSING.
  let why: Failure | undefined;
  const readHead = createHeadReader();
  const key = base64Encode(randomBytes(16));
  const timeoutMs = options.handshakeTimeoutMs ?? 15000;
  const timer = platform.timers.setTimeout(() => fail(failure("websocket-handshake-timeout", `No WebSocket upgrade answer within ${timeoutMs} ms: check the endpoint and port.`, true)), timeoutMs);
  // Stops decoding once a frame's handler closed the connection.
  const decode = createFrameDecoder({
    onPayload: (bytes) => events.onData(bytes),
    onControl: (opcode, payload) => {
      if (opcode === OP_PING) send(OP_PONG, payload);
      if (opcode === OP_CLOSE) {
        // Echo the close (RFC 6455 5.5.1) before dropping the connection.
        const code = payload.length > 1 ? (payload[0] << 8) | payload[1] : 1005;
        const reason = text(payload.subarray(2));
        fail(failure("connection-closed", `The server closed the WebSocket with code ${code}${reason ? ` (${reason})` : ""}.`, true), code === 1005 ? CLOSE_NORMAL : code);
      }
    },
  }, () => state !== OPEN);

  function randomBytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = platform.random() * 256;
    return bytes;
  }

  function send(opcode: number, payload: Uint8Array): void {
    inner.write(encodeFrame(opcode, payload, randomBytes(4)));
  }

  /** Records why we are closing (first reason wins), sends a close frame if open, closes the inner transport. */
  function fail(failed?: Failure, closeCode?: number): void {
    if (state >= CLOSING) return;
    why = failed;
    if (state === OPEN && closeCode) send(OP_CLOSE, new Uint8Array([closeCode >> 8, closeCode]));
    state = CLOSING;
    inner.close();
  }

  function onFrameData(bytes: Uint8Array): void {
    const v = decode(bytes);
    if (v) fail(failure("websocket-protocol-error", `The server broke the WebSocket protocol: ${v.reason}.`, true), v.closeCode);
  }

  const inner = openInner({
    onOpen() {
      if (state) return;
      inner.write(requestHead("GET", options.path, options.host, [
        ["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", key], ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Protocol", protocol], ...(options.headers ?? []),
      ]));
    },
    onData(bytes) {
      if (state === OPEN) return onFrameData(bytes);
      const done = !state && readHead(bytes);
      if (!done) return;
      if ("code" in done) return fail(done);
      platform.timers.clearTimeout(timer);
      const { status, reason, headers } = done.head;
      if (status !== 101) {
        return fail(failure("websocket-upgrade-refused", `WebSocket upgrade refused with HTTP ${status} ${reason}: check the credentials, authorizer or signature.`, status >= 500));
      }
      const answered = headers["sec-websocket-protocol"];
      const problem = !/^websocket$/i.test(headers.upgrade) || !/(^|,)\s*upgrade\s*(,|$)/i.test(headers.connection) ? "no Upgrade/Connection headers"
        : headers["sec-websocket-accept"] !== base64Encode(platform.crypto.sha1(new TextEncoder().encode(key + GUID))) ? "wrong Sec-WebSocket-Accept"
        : answered !== protocol ? `subprotocol "${answered}", not "${protocol}"`
        : headers["sec-websocket-extensions"] ? "unrequested extensions" : "";
      if (problem) return fail(failure("websocket-handshake-invalid", `Invalid WebSocket upgrade answer (${problem}): check the endpoint is AWS IoT's.`));
      state = OPEN;
      events.onOpen({});
      if (state === OPEN && done.rest.length) onFrameData(done.rest);
    },
    onClose(innerFailure) {
      const was = state;
      state = CLOSING;
      platform.timers.clearTimeout(timer);
      events.onClose(was === CLOSING ? why : innerFailure ?? (was === OPEN
        ? failure("connection-closed", "The WebSocket dropped without a close frame.", true)
        : failure("websocket-upgrade-dropped", "Closed during the WebSocket upgrade: check the endpoint, port and credentials.", true)));
    },
  });

  return {
    write(bytes, more) {
      // One frame for both pieces (masking copies the payload anyway).
      if (state === OPEN) send(OP_BINARY, more ? concat(bytes, more) : bytes);
    },
    close() {
      fail(undefined, CLOSE_NORMAL);
    },
  };
}

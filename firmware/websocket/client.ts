// A WebSocket client (RFC 6455) as a Transport over another Transport (normally TLS), so the
// MQTT client above it cannot tell the difference. Binary frames only, as MQTT requires.

import { failure, type Failure } from "../platform/failure.js";
import type { Crypto, Platform, Transport, TransportEvents } from "../platform/seam.js";
import { base64Encode } from "./base64.js";
import { createHeadReader, requestHead } from "./http-head.js";
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
const encoder = new TextEncoder();

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
  let state: "connecting" | "handshaking" | "open" | "closing" | "closed" = "connecting";
  let pending: Failure | undefined;
  let closedByUs = false;
  const readHead = createHeadReader();
  const key = base64Encode(randomBytes(16));
  const timeoutMs = options.handshakeTimeoutMs ?? 15000;
  const timer = platform.timers.setTimeout(() => fail(failure("websocket-handshake-timeout", `No WebSocket upgrade answer within ${timeoutMs} ms: check the endpoint and port.`, true)), timeoutMs);
  // Stops decoding once a frame's handler closed the connection.
  const decode = createFrameDecoder({
    onPayload: (bytes) => events.onData(bytes),
    onControl: (opcode, payload) => {
      if (opcode === OP_PING) send(OP_PONG, payload);
      else if (opcode === OP_CLOSE) closedByServer(payload);
    },
  }, () => state !== "open");

  function randomBytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = platform.random() * 256;
    return bytes;
  }

  function send(opcode: number, payload: Uint8Array): void {
    inner.write(encodeFrame(opcode, payload, randomBytes(4)));
  }

  /** Records why we are closing (first reason wins), sends a close frame if open, closes the inner transport. */
  function fail(why?: Failure, closeCode?: number): void {
    if (state === "closing" || state === "closed") return;
    pending = why;
    closedByUs = !why;
    if (state === "open" && closeCode) send(OP_CLOSE, new Uint8Array([closeCode >> 8, closeCode & 0xff]));
    state = "closing";
    inner.close();
  }

  function closedByServer(payload: Uint8Array): void {
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
    const reason = new TextDecoder().decode(payload.subarray(2));
    // Echo the close (RFC 6455 5.5.1) before dropping the connection.
    fail(failure("connection-closed", `The server closed the WebSocket with code ${code}${reason ? ` (${reason})` : ""}.`, true), code === 1005 ? CLOSE_NORMAL : code);
  }

  function upgradeProblem(headers: Record<string, string>): string | undefined {
    const protocol = headers["sec-websocket-protocol"];
    if ((headers["upgrade"] ?? "").toLowerCase() !== "websocket" || !/(^|,)\s*upgrade\s*(,|$)/i.test(headers["connection"] ?? "")) return "no Upgrade/Connection headers";
    if (headers["sec-websocket-accept"] !== base64Encode(platform.crypto.sha1(encoder.encode(key + GUID)))) return "wrong Sec-WebSocket-Accept";
    if (protocol !== options.protocol) return `subprotocol "${protocol}", not "${options.protocol}"`;
    if (headers["sec-websocket-extensions"]) return "unrequested extensions";
  }

  function onHandshakeData(bytes: Uint8Array): void {
    const done = readHead(bytes);
    if (!done) return;
    if (!("head" in done)) return fail(done);
    platform.timers.clearTimeout(timer);
    const { status, reason, headers } = done.head;
    if (status !== 101) {
      return fail(failure("websocket-upgrade-refused", `WebSocket upgrade refused with HTTP ${status} ${reason}: check the credentials, authorizer or signature.`, status >= 500));
    }
    const problem = upgradeProblem(headers);
    if (problem) return fail(failure("websocket-handshake-invalid", `Invalid WebSocket upgrade answer (${problem}): check the endpoint is AWS IoT's.`));
    state = "open";
    events.onOpen({});
    if (state === "open" && done.rest.length > 0) onFrameData(done.rest);
  }

  function onFrameData(bytes: Uint8Array): void {
    const v = decode(bytes);
    if (v) fail(failure("websocket-protocol-error", `The server broke the WebSocket protocol: ${v.reason}.`, true), v.closeCode);
  }

  const inner = openInner({
    onOpen() {
      if (state !== "connecting") return;
      state = "handshaking";
      inner.write(requestHead("GET", options.path, options.host, [
        ["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Key", key], ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Protocol", options.protocol], ...(options.headers ?? []),
      ]));
    },
    onData(bytes) {
      if (state === "handshaking") onHandshakeData(bytes);
      else if (state === "open") onFrameData(bytes);
    },
    onClose(innerFailure) {
      if (state === "closed") return;
      const wasOpen = state === "open";
      state = "closed";
      platform.timers.clearTimeout(timer);
      events.onClose(pending ?? (closedByUs ? undefined : innerFailure ?? (wasOpen
        ? failure("connection-closed", "The server dropped the WebSocket without a close frame.", true)
        : failure("websocket-upgrade-dropped", "The server closed the connection during the WebSocket upgrade: check the endpoint, port and credentials.", true))));
    },
  });

  return {
    write(bytes, more) {
      if (state !== "open") return;
      if (!more) return send(OP_BINARY, bytes);
      // One frame for both pieces (masking copies the payload anyway).
      const joined = new Uint8Array(bytes.length + more.length);
      joined.set(bytes);
      joined.set(more, bytes.length);
      send(OP_BINARY, joined);
    },
    close() {
      fail(undefined, CLOSE_NORMAL);
    },
  };
}

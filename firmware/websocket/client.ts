// A WebSocket client (RFC 6455) as a Transport over another Transport (normally TLS), so the
// MQTT client above it cannot tell the difference. Binary frames only, as MQTT requires.

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, Transport, TransportEvents } from "../platform/seam.js";
import { base64Encode } from "./base64.js";
import { sha1 } from "./sha1.js";
import { HttpHeadReader } from "./http-head.js";
import {
  CLOSE_NORMAL, FrameDecoder, encodeFrame, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, type FrameViolation,
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
  platform: Pick<Platform, "random" | "timers">,
  openInner: (events: TransportEvents) => Transport,
  options: WebSocketOptions,
  events: TransportEvents,
): Transport {
  let state: "connecting" | "handshaking" | "open" | "closing" | "closed" = "connecting";
  let pending: Failure | undefined;
  let closedByUs = false;
  const headReader = new HttpHeadReader();
  const key = base64Encode(randomBytes(16));
  const timer = platform.timers.setTimeout(
    () => fail(failure("websocket-handshake-timeout", `The server did not answer the WebSocket upgrade within ${options.handshakeTimeoutMs ?? 15000} ms; check the endpoint and port.`, true)),
    options.handshakeTimeoutMs ?? 15000,
  );
  const decoder = new FrameDecoder({
    onPayload: (bytes) => events.onData(bytes),
    onControl: (opcode, payload) => {
      if (opcode === OP_PING) send(OP_PONG, payload);
      else if (opcode === OP_CLOSE) closedByServer(payload);
    },
  });

  function randomBytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = Math.floor(platform.random() * 256);
    return bytes;
  }

  function send(opcode: number, payload: Uint8Array): void {
    inner.write(encodeFrame(opcode, payload, randomBytes(4)));
  }

  function sendClose(code: number): void {
    send(OP_CLOSE, new Uint8Array([code >> 8, code & 0xff]));
  }

  /** Records why we are closing (first reason wins) and closes the inner transport. */
  function fail(why: Failure, closeCode?: number): void {
    if (state === "closing" || state === "closed") return;
    pending = why;
    if (state === "open" && closeCode) sendClose(closeCode);
    state = "closing";
    inner.close();
  }

  function closedByServer(payload: Uint8Array): void {
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
    const reason = new TextDecoder().decode(payload.subarray(2));
    // Echo the close (RFC 6455 5.5.1) before dropping the connection.
    fail(failure("connection-closed", `The server closed the WebSocket with code ${code}${reason ? ` (${reason})` : ""}.`, true), code === 1005 ? CLOSE_NORMAL : code);
    decoder.stopped = true;
  }

  function violation(v: FrameViolation): void {
    fail(failure("websocket-protocol-error", `The server broke the WebSocket protocol: ${v.reason}.`, true), v.closeCode);
  }

  function upgraded(headers: Record<string, string>): Failure | undefined {
    const expected = base64Encode(sha1(encoder.encode(key + GUID)));
    const invalid = (what: string) => failure("websocket-handshake-invalid", `The server's WebSocket upgrade answer is invalid: ${what}; check that the endpoint is AWS IoT's.`);
    if ((headers["upgrade"] ?? "").toLowerCase() !== "websocket") return invalid("no `Upgrade: websocket` header");
    if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers["connection"] ?? "")) return invalid("no `Connection: Upgrade` header");
    if (headers["sec-websocket-accept"] !== expected) return invalid("Sec-WebSocket-Accept does not match the key we sent");
    if (headers["sec-websocket-protocol"] !== options.protocol) return invalid(`the subprotocol is "${headers["sec-websocket-protocol"] ?? ""}", not "${options.protocol}"`);
    if (headers["sec-websocket-extensions"]) return invalid("it enables extensions we did not ask for");
    return undefined;
  }

  function onHandshakeData(bytes: Uint8Array): void {
    const done = headReader.feed(bytes);
    if (!done) return;
    if (!("head" in done)) return fail(done);
    platform.timers.clearTimeout(timer);
    const { status, reason, headers } = done.head;
    if (status !== 101) {
      return fail(failure("websocket-upgrade-refused", `The server refused the WebSocket upgrade with HTTP ${status}${reason ? " " + reason : ""}; check the credentials, authorizer or signature it was given.`, status >= 500));
    }
    const invalid = upgraded(headers);
    if (invalid) return fail(invalid);
    state = "open";
    events.onOpen({});
    if (state === "open" && done.rest.length > 0) onFrameData(done.rest);
  }

  function onFrameData(bytes: Uint8Array): void {
    const v = decoder.feed(bytes);
    if (v) violation(v);
  }

  const inner = openInner({
    onOpen() {
      if (state !== "connecting") return;
      state = "handshaking";
      let request = `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
      request += `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${options.protocol}\r\n`;
      for (const [name, value] of options.headers ?? []) request += `${name}: ${value}\r\n`;
      inner.write(encoder.encode(request + "\r\n"));
    },
    onData(bytes) {
      if (state === "handshaking") onHandshakeData(bytes);
      else if (state === "open") onFrameData(bytes);
    },
    onClose(innerFailure) {
      if (state === "closed") return;
      const wasConnected = state === "open";
      state = "closed";
      platform.timers.clearTimeout(timer);
      events.onClose(
        pending ??
          (closedByUs ? undefined : innerFailure ??
            (wasConnected
              ? failure("connection-closed", "The server dropped the WebSocket connection without a close frame.", true)
              : failure("websocket-upgrade-dropped", "The server closed the connection during the WebSocket upgrade; check the endpoint, port and credentials.", true))),
      );
    },
  });

  return {
    write(bytes) {
      if (state === "open") send(OP_BINARY, bytes);
    },
    close() {
      if (state === "closed" || state === "closing") return;
      closedByUs = true;
      if (state === "open") sendClose(CLOSE_NORMAL);
      state = "closing";
      inner.close();
    },
  };
}

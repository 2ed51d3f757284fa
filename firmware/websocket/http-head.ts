// HTTP/1.1 for the WebSocket upgrade and the HTTPS calls: builds a request head, and reads a
// response head (status line and headers) at the start of the bytes received so far.

import { failure, type Failure } from "../platform/failure.js";

export interface HttpResponseHead {
  status: number;
  reason: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export interface HttpHeadDone {
  head: HttpResponseHead;
  /** Bytes that followed the blank line (body or WebSocket frames). */
  rest: Uint8Array;
}

/** The Host header's value for a TLS server: `name`, with `:port` unless it is 443. Cannot fail. */
export function hostHeader(name: string, port: number): string {
  return port === 443 ? name : name + ":" + port;
}

/** The request head's bytes: `<method> <path> HTTP/1.1`, Host, the headers, a blank line. Cannot fail. */
export function requestHead(method: string, path: string, host: string, headers: [string, string][]): Uint8Array {
  let text = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return new TextEncoder().encode(text + "\r\n");
}

/** `a` then `b` in a new array. Cannot fail. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** The text of UTF-8 `bytes` (no spread into String.fromCharCode: a line may be longer than the XS stack). */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** The index of the first CRLF in `bytes` at or after `from`, or -1. */
export function crlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  return -1;
}

/**
 * Reads the response head at the start of `bytes` (all received so far): undefined while it is
 * incomplete, the head and the bytes after it, or a Failure ("http-malformed-response") when
 * it is longer than `maxBytes` or not HTTP/1.x.
 */
export function readHead(bytes: Uint8Array, maxBytes = 4096): HttpHeadDone | Failure | undefined {
  const headers: Record<string, string> = {};
  let status: RegExpExecArray | null | undefined;
  // Line by line up to the empty one; the head with its blank line at most maxBytes.
  for (let at = 0, end: number; (end = crlf(bytes, at)) >= 0 && end + 2 <= maxBytes; at = end + 2) {
    const line = text(bytes.subarray(at, end));
    const colon = line.indexOf(":");
    if (status && end === at) return { head: { status: +status[1], reason: status[2], headers }, rest: bytes.subarray(end + 2) };
    if (!(status ??= /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(line)) || (at && colon <= 0)) return malformed("no HTTP/1.x status line");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // The status line is the first; header lines follow.
    if (at) headers[name] = name in headers ? headers[name] + ", " + value : value;
  }
  return bytes.length > maxBytes ? malformed(`head over ${maxBytes} bytes`) : undefined;
}

/** A reader to feed the response bytes to as they arrive; each call answers as `readHead` does for all of them. */
export function createHeadReader(maxBytes?: number): (bytes: Uint8Array) => HttpHeadDone | Failure | undefined {
  let buffer: Uint8Array = new Uint8Array(0);
  return (bytes) => readHead(buffer = concat(buffer, bytes), maxBytes);
}

/** Failure "http-malformed-response" saying `why`. */
export function malformed(why: string): Failure {
  return failure("http-malformed-response", `Malformed HTTP response (${why}): check the endpoint and port.`);
}

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

/** The index of the first CRLF in `bytes` at or after `from` (with `blank`, of CRLF CRLF), or -1. */
export function crlf(bytes: Uint8Array, from: number, blank?: boolean): number {
  for (let i = from; i + 3 < bytes.length + (blank ? 0 : 2); i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && (!blank || (bytes[i + 2] === 13 && bytes[i + 3] === 10))) return i;
  }
  return -1;
}

/**
 * Reads the response head at the start of `bytes` (all received so far): undefined while it is
 * incomplete, the head and the bytes after it, or a Failure ("http-malformed-response") when
 * it is longer than `maxBytes` or not HTTP/1.x.
 */
export function readHead(bytes: Uint8Array, maxBytes = 4096): HttpHeadDone | Failure | undefined {
  const end = crlf(bytes, 0, true);
  if (end < 0 || end + 4 > maxBytes) return bytes.length > maxBytes ? malformed(`head over ${maxBytes} bytes`) : undefined;
  const lines = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  const headers: Record<string, string> = {};
  for (let n = 1; status && n < lines.length; n++) {
    const colon = lines[n].indexOf(":");
    if (colon <= 0) return malformed("no HTTP/1.x status line");
    const name = lines[n].slice(0, colon).trim().toLowerCase();
    const value = lines[n].slice(colon + 1).trim();
    headers[name] = name in headers ? headers[name] + ", " + value : value;
  }
  return status ? { head: { status: +status[1], reason: status[2], headers }, rest: bytes.subarray(end + 4) } : malformed("no HTTP/1.x status line");
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

// HTTP/1.1 for the WebSocket upgrade and the Cognito HTTPS call: builds a request head, and
// reads a response head (status line and headers) from a byte stream that arrives in pieces.

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

/**
 * Returns a reader to feed the response bytes to as they arrive. Each call returns undefined
 * while the head is incomplete, the head once complete, or a Failure ("http-malformed-response")
 * when it is longer than `maxBytes` or not HTTP/1.x.
 */
export function createHeadReader(maxBytes = 4096): (bytes: Uint8Array) => HttpHeadDone | Failure | undefined {
  let buffer: Uint8Array = new Uint8Array(0);
  return (bytes) => {
    const old = buffer;
    const joined = buffer = new Uint8Array(old.length + bytes.length);
    joined.set(old);
    joined.set(bytes, old.length);
    for (let i = Math.max(0, old.length - 3); i + 3 < joined.length; i++) {
      if (joined[i] === 13 && joined[i + 1] === 10 && joined[i + 2] === 13 && joined[i + 3] === 10) {
        if (i + 4 > maxBytes) break;
        const head = parseHead(new TextDecoder().decode(joined.subarray(0, i)));
        return head ? { head, rest: joined.subarray(i + 4) } : malformed("no HTTP/1.x status line");
      }
    }
    return joined.length > maxBytes ? malformed(`head over ${maxBytes} bytes`) : undefined;
  };
}

/** Failure "http-malformed-response" saying `why`. */
export function malformed(why: string): Failure {
  return failure("http-malformed-response", `Malformed HTTP response (${why}): check the endpoint and port.`);
}

function parseHead(text: string): HttpResponseHead | undefined {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (let n = 1; n < lines.length; n++) {
    const colon = lines[n].indexOf(":");
    if (colon <= 0) return undefined;
    const name = lines[n].slice(0, colon).trim().toLowerCase();
    const value = lines[n].slice(colon + 1).trim();
    headers[name] = name in headers ? headers[name] + ", " + value : value;
  }
  return { status: Number(status[1]), reason: status[2], headers };
}

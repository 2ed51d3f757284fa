// Reads an HTTP/1.1 response head (status line and headers) from a byte stream that arrives
// in arbitrary pieces. Shared by the WebSocket upgrade and the Cognito HTTPS call.

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

export class HttpHeadReader {
  private buffer = new Uint8Array(0);

  constructor(private readonly maxBytes = 4096) {}

  /**
   * Returns undefined while the head is incomplete, the head once complete, or a Failure
   * ("http-malformed-response") when it is longer than `maxBytes` or not HTTP/1.x.
   */
  feed(bytes: Uint8Array): HttpHeadDone | Failure | undefined {
    const start = Math.max(0, this.buffer.length - 3);
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    for (let i = start; i + 3 < joined.length; i++) {
      if (joined[i] === 13 && joined[i + 1] === 10 && joined[i + 2] === 13 && joined[i + 3] === 10) {
        const head = parseHead(new TextDecoder().decode(joined.subarray(0, i)));
        if (!head) return malformed("the response does not start with an HTTP/1.x status line");
        return { head, rest: joined.subarray(i + 4) };
      }
    }
    if (joined.length > this.maxBytes) return malformed(`the response head is longer than ${this.maxBytes} bytes`);
    return undefined;
  }
}

function malformed(why: string): Failure {
  return failure("http-malformed-response", `The server's HTTP response is malformed: ${why}; check that the endpoint and port are an AWS IoT or Cognito endpoint.`);
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

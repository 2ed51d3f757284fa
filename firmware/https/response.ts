// HTTP/1.1 responses read strictly from a byte stream that arrives in pieces: the head (status
// line and headers, firmware/websocket/http-head.ts), then a body delimited by Content-Length or
// by chunked transfer coding, or by the end of the connection when the server says it closes.
// Pure: fed bytes, it returns the response once complete; a keep-alive connection's next
// response starts in `rest`.

import { failure, type Failure } from "../platform/failure.js";
import { createHeadReader, type HttpResponseHead } from "../websocket/http-head.js";

export interface HttpResponse extends HttpResponseHead {
  body: Uint8Array;
}

export interface ResponseDone {
  response: HttpResponse;
  /** Bytes after this response (the next one's, on a keep-alive connection). */
  rest: Uint8Array;
}

export interface ResponseReader {
  /**
   * Feeds bytes; returns undefined while the response is incomplete, the response once it is,
   * or a Failure: "http-malformed-response" (bad head, bad Content-Length, both Content-Length
   * and chunked, an unknown transfer coding, a bad chunk size or chunk end) or
   * "http-response-too-large" (body over the reader's bound).
   */
  feed(bytes: Uint8Array): ResponseDone | Failure | undefined;
  /**
   * The connection ended: the response when its body runs to the end of the connection,
   * else a Failure "http-response-truncated" (it ended mid-response).
   */
  end(): ResponseDone | Failure;
}

const malformed = (why: string) => failure("http-malformed-response", `Malformed HTTP response (${why}): check the endpoint and port.`);

/** A reader for one response whose body is at most `maxBody` bytes. Never throws. */
export function createResponseReader(maxBody = 4096): ResponseReader {
  const readHead = createHeadReader();
  let head: HttpResponseHead | undefined;
  // body framing, once the head is read: a length, "chunked", or "close" (to the end)
  let length = -1;
  let chunked = false;
  let trailers = false;
  let buffer = new Uint8Array(0);
  const body: Uint8Array[] = [];
  let bodyBytes = 0;
  let failed: Failure | undefined;

  const append = (bytes: Uint8Array) => {
    const joined = new Uint8Array(buffer.length + bytes.length);
    joined.set(buffer);
    joined.set(bytes, buffer.length);
    buffer = joined;
  };
  const take = (n: number): Failure | undefined => {
    bodyBytes += n;
    if (bodyBytes > maxBody) return tooLarge();
    body.push(buffer.slice(0, n));
    buffer = buffer.subarray(n);
    return undefined;
  };
  const tooLarge = () => failure("http-response-too-large", `HTTP response body over ${maxBody} bytes: not an AWS IoT answer; check the endpoint.`);
  const done = (): ResponseDone => {
    const joined = new Uint8Array(bodyBytes);
    let at = 0;
    for (const part of body) {
      joined.set(part, at);
      at += part.length;
    }
    return { response: { ...head!, body: joined }, rest: buffer };
  };
  const frame = (h: HttpResponseHead): Failure | undefined => {
    const coding = h.headers["transfer-encoding"];
    const declared = h.headers["content-length"];
    if (coding !== undefined) {
      if (coding.toLowerCase() !== "chunked") return malformed(`transfer coding "${coding}"`);
      if (declared !== undefined) return malformed("both Content-Length and chunked");
      chunked = true;
    } else if (declared !== undefined) {
      if (!/^\d{1,9}$/.test(declared)) return malformed(`Content-Length "${declared}"`);
      length = Number(declared);
      if (length > maxBody) return tooLarge();
    } else if (h.status === 204 || h.status === 304 || (h.status >= 100 && h.status < 200)) {
      length = 0;
    } else if (!/close/i.test(h.headers.connection ?? "")) {
      return malformed("no Content-Length, no chunked body, and the connection stays open");
    }
    return undefined;
  };
  // Chunked: `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n` then trailers up to an empty line.
  // Returns true when the last chunk and trailers are read.
  const readChunks = (): boolean | Failure => {
    for (;;) {
      const line = lineEnd(buffer);
      if (line < 0) return buffer.length > 1024 ? malformed("chunk size line too long") : false;
      const text = String.fromCharCode(...buffer.subarray(0, line));
      if (!trailers) {
        const size = /^([0-9A-Fa-f]{1,7})(;.*)?$/.exec(text);
        if (!size) return malformed(`chunk size "${text.slice(0, 20)}"`);
        const n = parseInt(size[1], 16);
        if (n === 0) {
          buffer = buffer.subarray(line + 2);
          trailers = true;
          continue;
        }
        if (buffer.length < line + 2 + n + 2) return false;
        if (buffer[line + 2 + n] !== 13 || buffer[line + 3 + n] !== 10) return malformed("chunk not followed by CRLF");
        buffer = buffer.subarray(line + 2);
        const tooLarge = take(n);
        if (tooLarge) return tooLarge;
        buffer = buffer.subarray(2);
        continue;
      }
      buffer = buffer.subarray(line + 2);
      if (line === 0) return true;
    }
  };

  const step = (): ResponseDone | Failure | undefined => {
    if (chunked) {
      const finished = readChunks();
      return finished === true ? done() : finished === false ? undefined : finished;
    }
    if (length >= 0) {
      if (buffer.length < length) return undefined;
      take(length);
      return done();
    }
    if (buffer.length > 0) return take(buffer.length);
    return undefined;
  };

  return {
    feed(bytes) {
      if (failed) return failed;
      if (!head) {
        const read = readHead(bytes);
        if (!read) return undefined;
        if ("code" in read) return failed = read;
        head = read.head;
        const problem = frame(head);
        if (problem) return failed = problem;
        buffer = read.rest.slice();
      } else append(bytes);
      const result = step();
      if (result && "code" in result) failed = result;
      return result;
    },
    end() {
      if (failed) return failed;
      if (head && !chunked && length < 0) return done();
      return failure("http-response-truncated", "The connection ended in the middle of an HTTP response: the server or the network dropped it; it is retried.");
    },
  };
}

function lineEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  return -1;
}

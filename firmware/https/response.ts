// HTTP/1.1 responses read strictly from a byte stream that arrives in pieces: the head (status
// line and headers, firmware/websocket/http-head.ts), then a body delimited by Content-Length or
// by chunked transfer coding, or by the end of the connection when the server says it closes.
// Pure: fed bytes, it returns the response once complete; a keep-alive connection's next
// response starts in `rest`.

import { failure, type Failure } from "../platform/failure.js";
import { createHeadReader, malformed, type HttpResponseHead } from "../websocket/http-head.js";

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

const tooLarge = (maxBody: number) => failure("http-response-too-large", `HTTP response body over ${maxBody} bytes: not an AWS IoT answer; check the endpoint.`);

/** A reader for one response whose body is at most `maxBody` bytes. Never throws. */
export function createResponseReader(maxBody = 4096): ResponseReader {
  const readHead = createHeadReader();
  let head: HttpResponseHead | undefined;
  // Once the head is read, the body's framing: its length, -1 to the end of the connection, -2 chunked.
  let length = -1;
  // The bytes not read yet; of a chunked body, the chunks read so far and whether the last one was.
  let buffer: Uint8Array = new Uint8Array(0);
  let chunks: Uint8Array = new Uint8Array(0);
  let trailers = false;
  let failed: Failure | undefined;
  const done = (body: Uint8Array, rest: Uint8Array): ResponseDone => ({ response: { ...head!, body }, rest });

  const frame = (h: HttpResponseHead): Failure | undefined => {
    const coding = h.headers["transfer-encoding"];
    const declared = h.headers["content-length"];
    if (coding !== undefined) {
      if (coding.toLowerCase() !== "chunked") return malformed(`transfer coding "${coding}"`);
      if (declared !== undefined) return malformed("both Content-Length and chunked");
      length = -2;
    } else if (declared !== undefined) {
      if (!/^\d{1,9}$/.test(declared)) return malformed(`Content-Length "${declared}"`);
      length = Number(declared);
      if (length > maxBody) return tooLarge(maxBody);
    } else if (h.status === 204 || h.status === 304 || (h.status >= 100 && h.status < 200)) {
      length = 0;
    } else if (!/close/i.test(h.headers.connection ?? "")) {
      return malformed("no Content-Length, no chunked body, and the connection stays open");
    }
    return undefined;
  };

  // Chunked: `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n`, then trailers up to an empty line.
  const readChunks = (): ResponseDone | Failure | undefined => {
    for (;;) {
      const line = lineEnd(buffer);
      if (line < 0) return buffer.length > 1024 ? malformed("chunk size line too long") : undefined;
      const text = String.fromCharCode(...buffer.subarray(0, line));
      const size = /^([0-9A-Fa-f]{1,7})(;.*)?$/.exec(text);
      const n = trailers ? 0 : size ? parseInt(size[1]!, 16) : -1;
      const end = line + 2 + n;
      if (n < 0) return malformed(`chunk size "${text.slice(0, 20)}"`);
      if (chunks.length + n > maxBody) return tooLarge(maxBody);
      if (n) {
        if (buffer.length < end + 2) return undefined;
        if (buffer[end] !== 13 || buffer[end + 1] !== 10) return malformed("chunk not followed by CRLF");
        chunks = concat(chunks, buffer.subarray(line + 2, end));
        buffer = buffer.subarray(end + 2);
        continue;
      }
      buffer = buffer.subarray(end);
      if (trailers && !line) return done(chunks, buffer);
      trailers = true;
    }
  };

  return {
    feed(bytes) {
      if (failed) return failed;
      if (head) buffer = concat(buffer, bytes);
      else {
        const read = readHead(bytes);
        if (!read) return undefined;
        if ("code" in read) return failed = read;
        head = read.head;
        const problem = frame(head);
        if (problem) return failed = problem;
        buffer = read.rest.slice();
      }
      const result = length === -2 ? readChunks()
        : length < 0 ? (buffer.length > maxBody ? tooLarge(maxBody) : undefined)
        : buffer.length < length ? undefined : done(buffer.slice(0, length), buffer.subarray(length));
      if (result && "code" in result) failed = result;
      return result;
    },
    end() {
      return failed ?? (head && length === -1 ? done(buffer, buffer.subarray(buffer.length))
        : failure("http-response-truncated", "The connection ended within an HTTP response; it is retried."));
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function lineEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  return -1;
}

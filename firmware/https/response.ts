// HTTP/1.1 responses read strictly from a byte stream that arrives in pieces: the head (status
// line and headers, firmware/websocket/http-head.ts), then a body delimited by Content-Length or
// by chunked transfer coding, or by the end of the connection when the server says it closes.
// Pure: the bytes received so far are read again as each piece arrives (a response is a few
// hundred bytes, in one or two pieces); a keep-alive connection's next response starts in `rest`.

import { failure, type Failure } from "../platform/failure.js";
import { concat, crlf, malformed, readHead, text, type HttpResponseHead } from "../websocket/http-head.js";

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

/** A reader for one response whose body is at most `maxBody` bytes. Never throws. */
export function createResponseReader(maxBody = 4096): ResponseReader {
  let received: Uint8Array = new Uint8Array(0);
  const tooLarge = failure("http-response-too-large", `HTTP body over ${maxBody} bytes: check the endpoint.`);

  // The response in `received`, undefined while incomplete (`ended`: the connection ended).
  const read = (ended?: boolean): ResponseDone | Failure | undefined => {
    const got = readHead(received);
    if (!got || "code" in got) return got;
    const { head, rest } = got;
    const done = (body: Uint8Array, after: Uint8Array): ResponseDone => ({ response: { ...head, body }, rest: after });
    const coding = head.headers["transfer-encoding"];
    const declared = head.headers["content-length"];
    const status = head.status;
    if (coding !== undefined) {
      if (coding.toLowerCase() !== "chunked") return malformed(`transfer coding "${coding}"`);
      if (declared !== undefined) return malformed("both Content-Length and chunked");
      // `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n`, then trailers up to an empty line.
      let body: Uint8Array = new Uint8Array(0);
      let last = false;
      for (let at = 0; ;) {
        const line = crlf(rest, at);
        if (line < 0) return rest.length - at > 1024 ? malformed("chunk size line too long") : undefined;
        const size = text(rest.subarray(at, line));
        const n = last ? 0 : /^[0-9A-Fa-f]{1,7}(;.*)?$/.test(size) ? parseInt(size, 16) : -1;
        const end = line + 2 + n;
        if (n < 0) return malformed(`chunk size "${size.slice(0, 20)}"`);
        if (body.length + n > maxBody) return tooLarge;
        if (n) {
          if (rest.length < end + 2) return undefined;
          if (rest[end] !== 13 || rest[end + 1] !== 10) return malformed("chunk not followed by CRLF");
          body = concat(body, rest.subarray(line + 2, end));
          at = end + 2;
          continue;
        }
        if (last && line === at) return done(body, rest.subarray(end));
        last = true;
        at = end;
      }
    }
    const length = declared !== undefined ? (/^\d{1,9}$/.test(declared) ? +declared : -1)
      : status === 204 || status === 304 || (status >= 100 && status < 200) ? 0 : -2;
    if (length === -1) return malformed(`Content-Length "${declared}"`);
    if (length > maxBody) return tooLarge;
    if (length >= 0) return rest.length < length ? undefined : done(rest.subarray(0, length), rest.subarray(length));
    if (!/close/i.test(head.headers.connection ?? "")) return malformed("no Content-Length, no chunked body, and the connection stays open");
    return rest.length > maxBody ? tooLarge : ended ? done(rest, rest.subarray(rest.length)) : undefined;
  };

  return {
    feed(bytes) {
      received = concat(received, bytes);
      return read();
    },
    end: () => read(true) ?? failure("http-response-truncated", "Connection ended within an HTTP response (retried)."),
  };
}

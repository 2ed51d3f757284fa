// One HTTPS POST to "/" with a JSON body over the platform's TLS transport: just enough
// HTTP/1.1 for the Cognito Identity calls (Connection: close; Content-Length or chunked answers).

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, TlsOptions } from "../platform/seam.js";
import { createHeadReader, hostHeader, requestHead, type HttpResponseHead } from "../websocket/http-head.js";

export interface HttpsAnswer {
  status: number;
  body: string;
}

const MAX_BODY = 16384;
const TIMEOUT_MS = 15000;

/**
 * POSTs `body` to `/` of `target` with the given headers and calls `done` once with the
 * answer, or with a Failure: the transport's own (TLS) failure, "http-malformed-response",
 * "http-response-too-large", "http-timeout", "http-closed-early".
 */
export function httpsPost(
  platform: Pick<Platform, "openTransport" | "timers">,
  target: TlsOptions,
  headers: [string, string][],
  body: string,
  done: (answer: HttpsAnswer | Failure) => void,
): void {
  const payload = new TextEncoder().encode(body);
  const readHead = createHeadReader();
  const problem = (code: string, what: string, retryable = true) => failure(code, `${target.host}: ${what}`, retryable);
  let head: HttpResponseHead | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  let result: HttpsAnswer | Failure | undefined;
  let finished = false;
  const finish = (r: HttpsAnswer | Failure) => {
    result ??= r;
    transport.close();
  };
  const timer = platform.timers.setTimeout(() => finish(problem("http-timeout", `no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  const length = () => Number(head!.headers["content-length"] ?? NaN);

  function take(bytes: Uint8Array): void {
    received += bytes.length;
    if (received > MAX_BODY) return finish(problem("http-response-too-large", `answer over ${MAX_BODY} bytes`, false));
    chunks.push(bytes.slice());
    if (received >= length()) finish(answer());
  }

  function answer(): HttpsAnswer | Failure {
    const all = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) all.set(c, (at += c.length) - c.length);
    const text = new TextDecoder().decode(all);
    const status = head!.status;
    if (!/chunked/i.test(head!.headers["transfer-encoding"] ?? "")) return { status, body: text.slice(0, length() || text.length) };
    let out = "";
    for (let at = 0; ; ) {
      const eol = text.indexOf("\r\n", at);
      const size = parseInt(text.slice(at, eol), 16);
      if (eol < 0 || Number.isNaN(size)) return problem("http-malformed-response", "malformed chunked body");
      if (!size) return { status, body: out };
      out += text.slice(eol + 2, eol + 2 + size);
      at = eol + 4 + size;
    }
  }

  const transport = platform.openTransport(target, {
    onOpen() {
      const host = hostHeader(target.serverName ?? target.host, target.port);
      transport.write(requestHead("POST", "/", host, [...headers, ["Content-Length", String(payload.length)], ["Connection", "close"]]), payload);
    },
    onData(bytes) {
      if (result) return;
      if (head) return take(bytes);
      const got = readHead(bytes);
      if (!got) return;
      if (!("head" in got)) return finish(got);
      head = got.head;
      take(got.rest);
    },
    onClose(closeFailure) {
      if (finished) return;
      finished = true;
      platform.timers.clearTimeout(timer);
      done(result ?? (head && !closeFailure ? answer() : closeFailure ?? problem("http-closed-early", "closed before answering")));
    },
  });
}

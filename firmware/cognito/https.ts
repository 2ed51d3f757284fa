// One HTTPS POST with a JSON body over the platform's TLS transport: just enough HTTP/1.1 for
// the Cognito Identity calls (Connection: close; Content-Length or chunked answers).

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, Transport } from "../platform/seam.js";
import { HttpHeadReader, requestHead, type HttpResponseHead } from "../websocket/http-head.js";

export interface HttpsTarget {
  host: string;
  port: number;
  serverName?: string;
  trustedCa: Uint8Array[];
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

const MAX_BODY = 16384;

/**
 * POSTs `body` to `path` with the given headers and calls `done` once with the answer, or
 * with a Failure: the transport's own (TLS) failure, "http-malformed-response",
 * "http-response-too-large", "http-timeout", "http-closed-early".
 */
export function httpsPost(
  platform: Pick<Platform, "openTransport" | "timers">,
  target: HttpsTarget,
  path: string,
  headers: [string, string][],
  body: string,
  done: (answer: HttpsAnswer | Failure) => void,
  timeoutMs = 15000,
): void {
  const payload = new TextEncoder().encode(body);
  const reader = new HttpHeadReader();
  let head: HttpResponseHead | undefined;
  let chunks: Uint8Array[] = [];
  let received = 0;
  let result: HttpsAnswer | Failure | undefined;
  let finished = false;
  const finish = (r: HttpsAnswer | Failure) => {
    result ??= r;
    transport.close();
  };
  const timer = platform.timers.setTimeout(() => finish(failure("http-timeout", `${target.host}: no answer within ${timeoutMs} ms`, true)), timeoutMs);

  function take(bytes: Uint8Array): void {
    received += bytes.length;
    if (received > MAX_BODY) return finish(failure("http-response-too-large", `${target.host}: answer over ${MAX_BODY} bytes`, false));
    chunks.push(bytes.slice());
    const length = Number(head!.headers["content-length"] ?? NaN);
    if (received >= length) finish(answer());
  }

  function answer(): HttpsAnswer | Failure {
    const all = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) all.set(c, (at += c.length) - c.length);
    const text = new TextDecoder().decode(all);
    if (!/chunked/i.test(head!.headers["transfer-encoding"] ?? "")) return { status: head!.status, body: text.slice(0, Number(head!.headers["content-length"] ?? text.length)) };
    return dechunk(text) ?? failure("http-malformed-response", `${target.host}: malformed chunked body`, true);
  }

  function dechunk(text: string): HttpsAnswer | undefined {
    let out = "";
    for (let at = 0; ; ) {
      const eol = text.indexOf("\r\n", at);
      const size = parseInt(text.slice(at, eol), 16);
      if (eol < 0 || Number.isNaN(size)) return undefined;
      if (size === 0) return { status: head!.status, body: out };
      out += text.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  const transport: Transport = platform.openTransport(
    { host: target.host, port: target.port, serverName: target.serverName, trustedCa: target.trustedCa },
    {
      onOpen() {
        const host = (target.serverName ?? target.host) + (target.port === 443 ? "" : ":" + target.port);
        transport.write(requestHead("POST", path, host, [...headers, ["Content-Length", String(payload.length)], ["Connection", "close"]]));
        transport.write(payload);
      },
      onData(bytes) {
        if (result) return;
        if (head) return take(bytes);
        const got = reader.feed(bytes);
        if (!got) return;
        if (!("head" in got)) return finish(got);
        head = got.head;
        take(got.rest);
      },
      onClose(closeFailure) {
        if (finished) return;
        finished = true;
        platform.timers.clearTimeout(timer);
        done(result ?? (head && !closeFailure ? answer() : closeFailure ?? failure("http-closed-early", `${target.host}: closed before answering`, true)));
      },
    },
  );
}

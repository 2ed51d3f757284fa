// One HTTPS POST to "/" with a JSON body over the platform's TLS transport for the Cognito
// Identity calls (Connection: close), its answer read by the HTTPS publish modes' strict
// response reader (firmware/https/response.ts).

import { failure, type Failure } from "../platform/failure.js";
import type { Platform, TlsOptions } from "../platform/seam.js";
import { createResponseReader, type HttpResponse } from "../https/response.js";
import { hostHeader, requestHead } from "../websocket/http-head.js";

const TIMEOUT_MS = 15000;

/**
 * POSTs `body` to `/` of `target` with the given headers and calls `done` once with the
 * response, or with a Failure: the transport's own (TLS) failure, the response reader's
 * ("http-malformed-response", "http-response-too-large", "http-response-truncated"), or
 * "http-timeout".
 */
export function httpsPost(
  platform: Pick<Platform, "openTransport" | "timers">,
  target: TlsOptions,
  headers: [string, string][],
  body: string,
  done: (answer: HttpResponse | Failure) => void,
): void {
  const payload = new TextEncoder().encode(body);
  const reader = createResponseReader(16384);
  let result: HttpResponse | Failure | undefined;
  let closed = false;
  const finish = (r: HttpResponse | Failure) => {
    result ??= r;
    transport.close();
  };
  const timer = platform.timers.setTimeout(() => finish(failure("http-timeout", `${target.host}: no answer within ${TIMEOUT_MS} ms`, true)), TIMEOUT_MS);
  const transport = platform.openTransport(target, {
    onOpen() {
      transport.write(requestHead("POST", "/", hostHeader(target.serverName ?? target.host, target.port), [...headers, ["Content-Length", String(payload.length)], ["Connection", "close"]]), payload);
    },
    onData(bytes) {
      const got = result ? undefined : reader.feed(bytes);
      if (got) finish("code" in got ? got : got.response);
    },
    onClose(closeFailure) {
      if (closed) return;
      closed = true;
      platform.timers.clearTimeout(timer);
      const got = result ?? closeFailure ?? reader.end();
      done("rest" in got ? got.response : got);
    },
  });
}

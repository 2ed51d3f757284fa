// The HTTPS publish session (the manifests of the https-* modes map `connection/session` here):
// wake, take a reading, post every queued reading over one TLS connection with HTTP/1.1
// keep-alive (one request after the other, each answered before the next), then sleep for the
// telemetry interval. A reading leaves the queue (Preference, firmware/https/post-queue.ts) only
// when a 200 answers it; a failed cycle keeps them all and retries with the MQTT modes' backoff
// (full jitter, never two attempts closer than connectSpacingMs). Moddable offers no deep sleep
// on ESP32 (nor in the simulator, the host runtimes), so the sleep is simulated: the session
// says so, drops what it holds in memory and reads the queue back from Preference on waking.
// Imports name `../https/` because XS resolves them against the specifier `connection/session`.

import type { SessionContext, StartSession } from "../connection/config.js";
import { failure, type Failure } from "../platform/failure.js";
import type { TimerHandle, Transport } from "../platform/seam.js";
import { nextAttemptDelay } from "../provisioning/backoff.js";
import { telemetryPayload, topicsFor } from "../telemetry/messages.js";
import { loadPostQueue, type PostQueue } from "../https/post-queue.js";
import { publishHead, type HttpsLink } from "../https/request.js";
import { createResponseReader, type HttpResponse, type ResponseReader } from "../https/response.js";
import { text } from "../websocket/http-head.js";

// AWS's answers that no retry can change (docs/https-publish.md): the credentials or the policy
// (401, 403), the request itself (400, 405, 413). Others (429, 5xx) are retried.
const PERMANENT = [400, 401, 403, 405, 413];

export const startSession: StartSession = (context: SessionContext) => {
  const { platform, config: cfg } = context;
  const link = context.link as HttpsLink;
  const say = (line: string) => platform.log("https: " + line);
  const topic = topicsFor(cfg.topicPrefix).telemetry;
  const target = `${context.connection.endpoint}:${context.connection.port} (${context.mode.name}, SNI ${context.connection.serverName})`;
  const stats = { produced: 0, acked: 0, dropped: 0, queued: 0, inFlight: 0 };
  let queue: PostQueue | undefined;
  let failures = 0;
  let attempts = 0;
  let answered = false;
  let lastAttemptAt: number | undefined;
  let lastReadingAt: number | undefined;
  let timer: TimerHandle | undefined;
  let transport: Transport | undefined;
  let stopped = false;

  const schedule = (ms: number, then: () => void) => {
    timer = platform.timers.setTimeout(() => {
      timer = undefined;
      if (!stopped) then();
    }, ms);
  };
  const stopWith = (state: "refused" | "gave-up" | "config-invalid", f: Failure) => {
    stopped = true;
    say(`stopped: ${state}: ${f.message}`);
    context.report({ state, code: f.code, message: f.message, attempts });
  };

  if (context.features.length) {
    stopWith("config-invalid", failure("config-invalid", `Config "features": ${context.features.map((f) => f.name).join(", ")} need an MQTT session: build the device with an MQTT mode, or without them.`));
    return session();
  }
  wake();

  // Wake (boot, the end of a sleep or of a retry's wait): the queue as Preference holds it, a new
  // reading when an interval has passed since the last one, then post.
  function wake(): void {
    const loaded = queue = loadPostQueue(platform.storage, cfg.queueLimit, say);
    const now = platform.clock.now();
    const due = lastReadingAt === undefined || now - lastReadingAt >= cfg.telemetryIntervalMs;
    const reading = due ? context.sensor.read() : undefined;
    if (reading && "code" in reading) say(`sensor: ${reading.message}; no reading this cycle`);
    else if (reading) {
      lastReadingAt = now;
      const droppedBefore = loaded.dropped;
      const sample = loaded.push(platform.clock.now(), reading);
      stats.produced++;
      stats.dropped += loaded.dropped - droppedBefore;
      say(`reading ${sample.seq} queued (${loaded.length} unposted)`);
    }
    stats.queued = loaded.length;
    post();
  }

  // One connection; each queued reading posted in turn, the next once the last is answered.
  function post(): void {
    const posting = queue!;
    if (posting.length === 0) return sleep();
    attempts++;
    lastAttemptAt = platform.clock.now();
    context.report({ state: "connecting", message: `Posting ${posting.length} readings to ${target}.`, attempts });
    let reader: ResponseReader | undefined;
    let pending: { seq: number; reported: number } | undefined;
    let finished = false;
    const finish = (next: () => void) => {
      if (finished) return;
      finished = true;
      transport?.close();
      transport = undefined;
      next();
    };
    const sendNext = () => {
      const sample = posting.first();
      if (!sample) return finish(sleep);
      const reported = posting.dropped;
      const body = telemetryPayload(cfg.thingName, sample, reported);
      pending = { seq: sample.seq, reported };
      reader = createResponseReader();
      stats.inFlight = 1;
      transport?.write(publishHead(link, topic, body), body);
    };
    const answer = (response: HttpResponse, rest: Uint8Array) => {
      stats.inFlight = 0;
      const done = pending!;
      pending = undefined;
      if (response.status !== 200) return finish(() => refusedBy(response));
      posting.answered(done.reported);
      stats.acked++;
      stats.queued = posting.length;
      failures = 0;
      if (!answered) {
        answered = true;
        context.report({ state: "online", message: `Publishing over HTTPS to ${target}.`, attempts });
      }
      context.onAcked(done.seq);
      if (rest.length) return finish(() => retry(failure("http-malformed-response", "Bytes arrived after an HTTP response that no request asked for: check the endpoint and port.")));
      // A server that closes after this answer gets the rest on a new connection.
      if (/close/i.test(response.headers.connection ?? "")) return finish(post);
      sendNext();
    };
    transport = link.open({
      onOpen: () => {
        say(`connected to ${target}: posting ${posting.length} readings`);
        sendNext();
      },
      onData: (bytes) => {
        if (!reader || finished) return;
        const read = reader.feed(bytes);
        if (!read) return;
        if ("code" in read) return finish(() => retry(read));
        answer(read.response, read.rest);
      },
      onClose: (why) => {
        transport = undefined;
        if (finished || stopped) return;
        if (pending && reader && !why) {
          const read = reader.end();
          if (!("code" in read)) return answer(read.response, read.rest);
          return finish(() => retry(read));
        }
        finish(() => retry(why ?? failure("connection-closed", "The server closed the connection with readings unposted; they are retried.")));
      },
    });
  }

  function refusedBy(response: HttpResponse): void {
    const body = text(response.body);
    const f = failure(`https-${response.status}`, `AWS IoT answered ${response.status} ${response.headers["x-amzn-errortype"] ?? response.reason}${body ? ` ${body.slice(0, 200)}` : ""}`
      + (response.status === 403 ? ": the credentials or the policy do not allow iot:Publish on " + topic : ""));
    if (PERMANENT.includes(response.status)) return stopWith("refused", { ...f, message: f.message + "; the unposted readings stay queued." });
    retry(f);
  }

  function retry(why: Failure): void {
    // Fixed SigV4 credentials past their expiry (https-sigv4) stay so: no retry renews them.
    if (why.code == "credentials-expired") return stopWith("refused", why);
    failures++;
    stats.inFlight = 0;
    if (cfg.reconnectAttempts && failures >= cfg.reconnectAttempts) {
      return stopWith("gave-up", { ...why, message: `${why.message} (${failures} attempts in a row; the unposted readings stay queued)` });
    }
    const delay = nextAttemptDelay(failures - 1, platform.random(), platform.clock.now(), lastAttemptAt, cfg);
    say(`post failed: ${why.code}: ${why.message}; retry in ${delay} ms, ${queue?.length ?? 0} readings kept`);
    context.report({ state: "reconnecting", code: why.code, message: why.message, attempts });
    // Readings go on being taken at the interval while the posts fail; each retry posts them all.
    schedule(delay, wake);
  }

  function sleep(): void {
    stats.queued = queue?.length ?? 0;
    say(`sleep ${cfg.telemetryIntervalMs} ms (simulated: this platform offers no deep sleep; ${stats.queued} unposted readings kept in Preference)`);
    queue = undefined;
    schedule(cfg.telemetryIntervalMs, wake);
  }

  function session() {
    return {
      get attempts() { return attempts; },
      get provisioned() { return answered; },
      get telemetry() { return stats; },
      stop() {
        if (stopped) return;
        stopped = true;
        if (timer !== undefined) platform.timers.clearTimeout(timer);
        transport?.close();
        context.report({ state: "stopped", message: "Stopped on request.", attempts });
      },
    };
  }
  return session();
};

// The web console on the control port (`<controlUrl>/console/`). It is a client like any
// other: the page signs AWS IoT control-plane calls with SigV4, reads the stand-in's decision
// log and the broker's messages from two signed NDJSON streams, and publishes over MQTT on the
// stand-in's SigV4 WebSocket endpoint (`/mqtt`, also served here on the loopback control
// port because a browser cannot trust the data plane's private server CA). The only thing it
// gets that other clients do not is its access key, handed out on loopback by `/console/session`.
//
// Routes (docs/console.md says how to use them without the console):
//   GET /console/...            the page, its script and styles, and the front-end libraries
//                               copied from node_modules (no CDN, no build step)
//   GET /console/session        loopback only: the console's access key, region and URLs
//   GET /console/api/log        SigV4 (service iot): NDJSON, the recent log events then live ones
//   GET /console/api/messages?filter=F   SigV4 (service iot): NDJSON, each message on topics
//                               matching F (iot:Subscribe and iot:Receive checked against the
//                               key's IoT policy), with the publisher's client id
//   GET /mqtt (WebSocket)       MQTT over WebSocket, SigV4 presigned (service iotdevicegateway)

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifySignedRequest } from "../auth/sigv4.js";
import { topicProblem } from "../dataplane/quotas.js";
import type { ConnectionInfo } from "../dataplane/types.js";
import type { LogEvent } from "../log.js";
import { evaluatePolicies } from "../policy/evaluate.js";
import { resourceArn } from "../policy/resources.js";
import type { AccessKey, CoreContext, PublishedMessage, Service } from "../service.js";
import { topicMatches } from "../topic-filter.js";

/** What the console needs beyond the service context. */
export interface ConsoleOptions {
  /** The stand-in's own key (the account's, also written for the AWS CLI): the console signs with it. */
  accountKey: AccessKey;
  /** The stand-in's log as events (core/log.ts). */
  logEvents: { subscribe(listener: (event: LogEvent) => void): () => void; recent(): LogEvent[] };
  /** The SigV4 WebSocket endpoint's upgrade handler (auth/websocket-endpoint.ts), served on the control port too. */
  upgradeMqtt(request: IncomingMessage, socket: Duplex, head: Buffer, info: ConnectionInfo): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const JS = "text/javascript; charset=utf-8";

/** The npm packages whose browser builds the console serves at run time (so: dependencies). */
export const SERVED_PACKAGES = ["htm", "aws4fetch", "mqtt"] as const;
const packageDir = (name: string, entryToRoot: string) => join(dirname(require.resolve(name)), entryToRoot);

/** URL path under /console/ to the file served (resolved at first request) and its type. */
const FILES: Record<string, { path: () => string; type: string }> = {
  "": { path: () => join(here, "web/index.html"), type: "text/html; charset=utf-8" },
  "app.js": { path: () => join(here, "web/app.js"), type: JS },
  "style.css": { path: () => join(here, "web/style.css"), type: "text/css; charset=utf-8" },
  // preact and its hooks with htm's tagged templates, as one ES module (htm resolves to dist/htm.js)
  "vendor/preact-htm.js": { path: () => join(packageDir("htm", ".."), "preact/standalone.module.js"), type: JS },
  // aws4fetch resolves to dist/aws4fetch.cjs.js; the ES module sits beside it
  "vendor/aws4fetch.js": { path: () => join(packageDir("aws4fetch", "."), "aws4fetch.esm.mjs"), type: JS },
  "vendor/mqtt.js": { path: () => require.resolve("mqtt/dist/mqtt.esm"), type: JS },
};

/** The console, registered with the core as a service of its own (`services.add("console", ...)` in index.ts). */
export function consoleService(core: CoreContext, options: ConsoleOptions): Service {
  const scope = { region: core.region, accountId: core.accountId };
  const streams = new Set<ServerResponse>();
  const messageListeners = new Set<(message: PublishedMessage) => void>();
  const files = new Map<string, Buffer>();
  const file = (name: string) => {
    let body = files.get(name);
    if (!body) files.set(name, (body = readFileSync(FILES[name].path())));
    return body;
  };

  const session = (request: IncomingMessage, response: ServerResponse) => {
    const problem = notFromLoopback(request);
    if (problem) return answer(response, 403, { message: problem });
    const { accessKeyId, secretAccessKey } = options.accountKey;
    const host = String(request.headers.host);
    answer(response, 200, { accessKeyId, secretAccessKey, region: core.region, controlUrl: `http://${host}`, mqttUrl: `ws://${host}/mqtt` });
  };

  const authenticate = async (request: IncomingMessage, url: URL): Promise<{ accessKeyId: string } | { message: string }> => {
    const verdict = await verifySignedRequest(
      { method: request.method ?? "GET", rawPath: (request.url ?? "/").split("?")[0]!, query: [...url.searchParams], headers: request.headers, body: "" },
      { regions: [core.region], services: ["iot", "execute-api"], nowMs: core.now(), lookup: (id) => core.accessKeys.lookup(id) });
    if (!verdict.ok) return { message: `${verdict.failure.message} (${verdict.failure.reason}): sign the request with SigV4 (service iot) using a key this stand-in knows` };
    return { accessKeyId: verdict.value.key.accessKeyId };
  };

  const openStream = (response: ServerResponse) => {
    response.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
    response.flushHeaders();
    streams.add(response);
    const write = (value: unknown) => void response.write(`${JSON.stringify(value)}\n`);
    return { write, closed: new Promise<void>((resolve) => response.once("close", () => { streams.delete(response); resolve(); })) };
  };

  const logStream = (response: ServerResponse) => {
    const { write, closed } = openStream(response);
    for (const event of options.logEvents.recent()) write(event);
    const stop = options.logEvents.subscribe(write);
    void closed.then(stop);
  };

  const messageStream = (response: ServerResponse, url: URL, accessKeyId: string) => {
    const filter = url.searchParams.get("filter") ?? "";
    const problem = topicProblem(filter, "subscribe");
    if (problem) return answer(response, 400, { message: `filter '${filter}': ${problem}` });
    const policies = core.accessKeys.lookup(accessKeyId)?.policyDocuments ?? [];
    const decide = (action: "iot:Subscribe" | "iot:Receive", name: string) =>
      evaluatePolicies(policies, action, resourceArn(scope, action, name), {});
    const subscribe = decide("iot:Subscribe", filter);
    if (subscribe.decision !== "allow") return answer(response, 403, { message: `iot:Subscribe on ${filter}: ${subscribe.decision} by the key's IoT policy` });
    const { write, closed } = openStream(response);
    write({ subscribed: filter });
    const listener = ({ topic, payload, qos, clientId }: PublishedMessage) => {
      if (topic.startsWith("$SYS/") || !topicMatches(filter, topic) || decide("iot:Receive", topic).decision !== "allow") return;
      write({ time: core.now(), topic, clientId: clientId ?? null, qos, size: payload.length, payload: payload.toString("base64") });
    };
    messageListeners.add(listener);
    void closed.then(() => messageListeners.delete(listener));
  };

  const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
      const url = new URL(request.url ?? "/", "http://control");
      if (url.pathname === "/console") return redirect(response, "/console/");
      if (!url.pathname.startsWith("/console/")) return false;
      const name = url.pathname.slice("/console/".length);
      if (request.method !== "GET") return answer(response, 405, { message: `${request.method} is not served on ${url.pathname}: the console's routes are GET` });
      if (name === "session") return session(request, response), true;
      if (name === "api/log" || name === "api/messages") {
        void authenticate(request, url).then((caller) => {
          if ("message" in caller) return answer(response, 403, caller);
          if (name === "api/log") logStream(response);
          else messageStream(response, url, caller.accessKeyId);
        });
        return true;
      }
      if (!Object.hasOwn(FILES, name)) return answer(response, 404, { message: `no console file ${url.pathname}` });
      const body = file(name);
      response.writeHead(200, {
        "content-type": FILES[name].type, "content-length": body.length, "cache-control": "no-cache", "x-content-type-options": "nosniff",
        // Only the stand-in's own files and connections (mqtt.js runs its timers in a blob worker); no other site may frame the page.
        "content-security-policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      });
      response.end(body);
      return true;
  };

  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
      if ((request.url ?? "").split("?")[0] !== "/mqtt") return false;
      // Only presigned URLs: the control port has no custom-authorizer route.
      if (!/[?&]X-Amz-Algorithm=/.test(request.url ?? "")) {
        socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return true;
      }
      return options.upgradeMqtt(request, socket, head, {
        listener: "control", route: "websocket", alpn: null, serverName: null, peerCertificateChain: [],
        remoteAddress: request.socket.remoteAddress, stream: socket,
      });
  };

  return {
    name: "console",
    controlPort: { handle, upgrade },
    // Every accepted message, for the message streams' subscriptions (each filters for itself).
    topics: [{ filter: "#", onPublish: (message) => { for (const listener of messageListeners) listener(message); } }],
    async close() {
      for (const response of streams) response.destroy();
      streams.clear();
    },
  };
}

const LOOPBACK_ADDRESS = /^(127\.|::1$|::ffff:127\.)/;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?$/i;

/**
 * Why the key may not be handed out, or undefined: the caller must be on this machine, name
 * a loopback host (no DNS rebinding) and not be another site's page.
 */
function notFromLoopback(request: IncomingMessage): string | undefined {
  if (!LOOPBACK_ADDRESS.test(request.socket.remoteAddress ?? "")) return "the console session is given on loopback only: open the console on this machine";
  if (!LOOPBACK_HOST.test(String(request.headers.host ?? ""))) return "the console session needs a loopback Host (127.0.0.1, [::1] or localhost)";
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return "the console session is not given to other sites' pages";
  return undefined;
}

function answer(response: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  response.end(text);
  return true;
}

function redirect(response: ServerResponse, location: string): true {
  response.writeHead(308, { location, "content-length": 0 });
  response.end();
  return true;
}
